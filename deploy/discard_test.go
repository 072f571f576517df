package deploy_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// TestNilLoggerIsDisabled: a Deployment without a Logger logs nowhere, and
// without formatting the record first. On 8fa63d2 Log() returned a text
// handler writing to io.Discard, which is enabled at Info: every log call
// of a library user who passed no logger formatted its record for nothing.
func TestNilLoggerIsDisabled(t *testing.T) {
	log := (&deploy.Deployment{}).Log()
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelError} {
		if log.Enabled(context.Background(), l) {
			t.Errorf("the nil Logger's stand-in is enabled at %s: want slog.DiscardHandler", l)
		}
	}
}
