// Command lintworkflows runs actionlint, as a library, on GitHub Actions
// workflow files and prints what it found as JSON, for the tests of
// examples/github.
//
// It is a module of its own because actionlint v1.7.12 is written against
// go.yaml.in/yaml/v4 v4.0.0-rc.3, whose API changed in rc.4, the version
// compose-go (and so blueshift's main module) needs. Here actionlint keeps
// the dependencies it was built with.
//
// Usage:
//
//	go run . FILE...
//
// Output: one JSON array of {"file","line","column","kind","message"}; an
// empty array means no errors. shellcheck and pyflakes are off: they are
// external programs. The exit status is 0 when the files were checked
// (whatever was found) and 2 when they could not be.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/rhysd/actionlint"
)

type finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func main() {
	findings, err := lint(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "lintworkflows:", err)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(findings); err != nil {
		fmt.Fprintln(os.Stderr, "lintworkflows:", err)
		os.Exit(2)
	}
}

func lint(files []string) ([]finding, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("no workflow files given: usage: lintworkflows FILE")
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Color:     actionlint.ColorOptionKindNever,
		LogWriter: io.Discard,
		// Empty: the shellcheck and pyflakes rules do not run.
		Shellcheck: "",
		Pyflakes:   "",
	})
	if err != nil {
		return nil, fmt.Errorf("create linter: %w", err)
	}
	findings := []finding{}
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read workflow: %w", err)
		}
		errs, err := l.Lint(f, content, nil)
		if err != nil {
			return nil, fmt.Errorf("lint %s: %w", f, err)
		}
		for _, e := range errs {
			findings = append(findings, finding{File: f, Line: e.Line, Column: e.Column, Kind: e.Kind, Message: e.Message})
		}
	}
	return findings, nil
}
