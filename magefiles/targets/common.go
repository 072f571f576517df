package targets

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// Where targets read the environment and write their output; tests replace
// them.
var (
	getenv           = os.Getenv
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// loadConfig loads and validates the configuration file named by
// $DEPLOY_CONFIG (default deploy.yml), expanding ${VAR} from the
// environment.
func loadConfig() (*deploy.Config, error) {
	return deploy.LoadDefault(getenv)
}

// loadEnv loads the configuration and returns the environment called name
// ("production"); an unknown name is an error listing the known ones.
func loadEnv(name string) (*deploy.Config, *deploy.Environment, error) {
	c, err := loadConfig()
	if err != nil {
		return nil, nil, err
	}
	e, err := c.Env(name)
	if err != nil {
		return nil, nil, err
	}
	return c, e, nil
}

// newLogger returns a logger writing text to stderr: Info and above, Debug
// with `mage -v`. Mage sends the standard logger (and slog.Default) to
// io.Discard, so targets pass this one to the library instead.
func newLogger() *slog.Logger {
	level := slog.LevelInfo
	if mg.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// fail turns err into the error a target returns: nil stays nil, an error
// that already carries an exit status (mg.Fatal) is kept, and anything else
// exits 1 with a one-line message. A multi-line error (a configuration with
// several problems) is written to stderr in full first, and the one line
// says so.
func fail(err error) error {
	if err == nil {
		return nil
	}
	var coded interface{ ExitStatus() int }
	if errors.As(err, &coded) {
		return err
	}
	msg := err.Error()
	first, _, multi := strings.Cut(msg, "\n")
	if !multi {
		return mg.Fatal(1, msg)
	}
	fmt.Fprintln(stderr, msg)
	first = strings.TrimSuffix(first, ":")
	var verr *deploy.ValidationError
	if errors.As(err, &verr) {
		return mg.Fatalf(1, "%s: %d problem(s), listed above", first, len(verr.Problems))
	}
	return mg.Fatalf(1, "%s (details above)", first)
}
