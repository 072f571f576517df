// Package devtargets holds the Mage targets of the blueshift repository
// itself: test, demo, demo:down and bench. Only this repository's
// magefiles/magefile.go imports it. They live apart from magefiles/targets,
// which application repositories `//mage:import`, because they need the
// repository's examples (and, through them, package testing) and make no
// sense elsewhere: an application's `mage test` must not run blueshift's
// test suite. deploy/layering_test.go keeps magefiles/targets free of
// examples/... and testing.
package devtargets

import (
	"io"
	"log/slog"
	"os"

	"github.com/blueshift-deploy/blueshift/magefiles/internal/cli"
)

// Where targets read the environment and write their output.
var (
	getenv           = os.Getenv
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// newLogger returns the targets' logger on stderr (cli.Logger).
func newLogger() *slog.Logger { return cli.Logger(stderr) }

// fail turns err into the error a target returns (cli.Fail).
func fail(err error) error { return cli.Fail(stderr, err) }
