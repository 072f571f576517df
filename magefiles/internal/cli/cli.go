// Package cli holds what every blueshift Mage target package shares: the
// logger a target passes to the library and the way a target's error
// becomes an exit status. It is internal so that no exported helper of
// magefiles/targets or magefiles/devtargets becomes a Mage target (Mage
// turns every exported function of an imported package into one).
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// Logger returns a logger writing text to w: Info and above, Debug with
// `mage -v`. Mage sends the standard logger (and slog.Default) to
// io.Discard, so targets pass this one to the library instead.
func Logger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if mg.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// Fail turns err into the error a target returns: nil stays nil, an error
// that carries an exit status (mg.Fatal, also wrapped) keeps it, and anything else
// exits 1 with a one-line message. A multi-line error (a configuration with
// several problems) is written to stderr in full first, and the one line
// says so.
func Fail(stderr io.Writer, err error) error {
	if err == nil {
		return nil
	}
	var coded interface{ ExitStatus() int }
	if errors.As(err, &coded) {
		if _, direct := err.(interface{ ExitStatus() int }); direct {
			return err
		}
		// Mage's main asserts ExitStatus on the error itself, not on what
		// it wraps (a masked error from deploy.RedactError): keep the code.
		return mg.Fatal(coded.ExitStatus(), err.Error())
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
