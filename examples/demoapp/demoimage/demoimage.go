// Package demoimage builds the demo app (examples/demoapp) into a Docker
// image FROM scratch, for blueshift's end-to-end tests, demo and benchmarks.
// Nothing can be pulled on the machines those run on, so the image holds
// only the static demo binary; its HEALTHCHECK is the binary's own
// `healthcheck` subcommand, since a scratch image has no curl.
package demoimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/container"
)

// Binary is the path of the demo binary inside the image.
const Binary = "/demoapp"

// Port is the port the demo app listens on in the image.
const Port = "8000"

// Label marks every image Build makes ("blueshift.demoapp=1"), so tests and
// the demo can find and remove them.
const Label = "blueshift.demoapp"

// demoPackage is the demo app's import path, used to find its source when
// this file's own path is not available (a -trimpath build).
const demoPackage = "github.com/blueshift-deploy/blueshift/examples/demoapp"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary compiles the demo app once per process and returns the binary's
// path.
func binary(ctx context.Context) (string, error) {
	binOnce.Do(func() {
		src, err := sourceDir(ctx)
		if err != nil {
			binErr = err
			return
		}
		dir, err := os.MkdirTemp("", "blueshift-demoapp-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, filepath.Base(Binary))
		binErr = container.BuildGoBinary(ctx, src, binPath)
	})
	return binPath, binErr
}

// sourceDir finds examples/demoapp on this machine.
func sourceDir(ctx context.Context) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(dir, "main.go")); err == nil {
			return dir, nil
		}
	}
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", demoPackage).Output()
	if err != nil {
		return "", fmt.Errorf("find the demo app's source (go list %s): %w", demoPackage, err)
	}
	return strings.TrimSpace(string(out)), nil
}

var (
	repoRE    = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// ErrInvalidRef is wrapped when repo or version cannot form an image
// reference.
var ErrInvalidRef = errors.New("invalid image reference")

// Build compiles the demo app (once per process) and builds the image
// repo:version FROM scratch on the engine behind cli, reporting version
// through APP_VERSION. It returns the reference "repo:version".
func Build(ctx context.Context, cli container.Engine, repo, version string) (ref string, err error) {
	if !repoRE.MatchString(repo) {
		return "", fmt.Errorf("demo image: repo %q: %w: want lowercase letters, digits, '.', '_', '-' and '/'", repo, ErrInvalidRef)
	}
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("demo image: version %q: %w: want letters, digits, '.', '_' and '-' (at most 128)", version, ErrInvalidRef)
	}
	ref = repo + ":" + version
	bin, err := binary(ctx)
	if err != nil {
		return "", fmt.Errorf("demo image %s: compile the demo app: %w", ref, err)
	}
	err = container.BuildScratchImage(ctx, cli, container.ScratchImage{
		Tag:          ref,
		Binary:       bin,
		Entrypoint:   []string{Binary, "serve"},
		Env:          []string{"APP_VERSION=" + version, "PORT=" + Port, "TMPDIR=/"},
		ExposedPorts: []string{Port + "/tcp"},
		Labels: map[string]string{
			Label:                              "1",
			"org.opencontainers.image.title":   "blueshift demo app",
			"org.opencontainers.image.version": version,
		},
		Healthcheck: &container.HealthcheckSpec{
			Test:     []string{Binary, "healthcheck"},
			Interval: 2 * time.Second,
			Timeout:  5 * time.Second,
			Retries:  3,
		},
	})
	if err != nil {
		return "", fmt.Errorf("demo image: %w", err)
	}
	return ref, nil
}
