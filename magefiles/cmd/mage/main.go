// Command mage is Mage with one change: runs in one checkout may overlap.
//
// Mage writes magefiles/mage_output_file.go, compiles it and removes it on
// every run, so two targets started at once in one checkout (`status` in a
// second terminal while a deployment starts) could fail compiling with
// "open ./mage_output_file.go: no such file or directory". This command
// compiles under an exclusive lock on the magefiles' directory into a
// binary of its own, then runs that binary without the lock: compiles
// wait for each other (seconds), targets run side by side. It is the
// module's `go tool mage` (go.mod's tool directive); everything else,
// flags and output, is Mage's.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/magefile/mage/mage"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Stdin))
}

// run is Mage's ParseAndRun with every compile under the lock.
func run(args []string, stdout, stderr io.Writer, stdin io.Reader) int {
	inv, cmd, err := mage.Parse(io.Discard, io.Discard, args)
	if err != nil || cmd != mage.None || inv.List || inv.Help || inv.Autocomplete {
		// Errors, -h, -l, -compile and the other commands: Mage's own
		// handling, under the lock (-compile writes the main file).
		unlock, err := lockDir(dirOf(inv))
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		defer unlock()
		return mage.ParseAndRun(stdout, stderr, stdin, args)
	}
	tmp, err := os.MkdirTemp("", "blueshift-mage-")
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	exe := filepath.Join(tmp, "mage")
	if code := compile(inv, exe, stdout, stderr); code != 0 {
		return code
	}
	inv.Stdout, inv.Stderr, inv.Stdin = stdout, stderr, stdin
	if inv.WorkDir == "" {
		inv.WorkDir = inv.Dir // as mage.Invoke does: -d alone is also the working directory
	}
	return mage.RunCompiled(inv, exe, log.New(stderr, "", 0))
}

// compile compiles the magefiles of inv to exe under the lock.
func compile(inv mage.Invocation, exe string, stdout, stderr io.Writer) int {
	unlock, err := lockDir(dirOf(inv))
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	defer unlock()
	inv.CompileOut, inv.Force, inv.Args = exe, true, nil
	inv.Stdout, inv.Stderr = stdout, stderr
	return mage.Invoke(inv)
}

// dirOf is the directory holding the magefiles (or their magefiles/
// directory): Mage's -d, default the current one.
func dirOf(inv mage.Invocation) string {
	if inv.Dir == "" {
		return "."
	}
	return inv.Dir
}
