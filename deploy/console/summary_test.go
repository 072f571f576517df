package console_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/console"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

func TestSummaryGolden(t *testing.T) {
	for name, sc := range scenarios {
		t.Run(name, func(t *testing.T) {
			d := runScenario(t, newClock(), sc, nil, 0)
			var out bytes.Buffer
			if err := console.Summary(&out, d); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "\x1b") {
				t.Error("Summary wrote ANSI codes")
			}
			golden(t, "summary-"+name+".golden", out.String())
		})
	}
}

func TestSummaryBanners(t *testing.T) {
	for outcome, want := range map[deploy.Outcome]string{
		deploy.OutcomeSucceeded:      "✅ deployed",
		deploy.OutcomeRolledBack:     "🔄 rolled back",
		deploy.OutcomeFailed:         "❌ failed",
		deploy.OutcomeRollbackFailed: "🚨 rollback failed",
		"":                           "⏳",
	} {
		d := &deploy.Deployment{Outcome: outcome, Environment: "staging"}
		if got := console.Banner(d); !strings.HasPrefix(got, want) {
			t.Errorf("Banner(%q) = %q, want prefix %q", outcome, got, want)
		}
	}
}

func TestSummaryLogsTruncated(t *testing.T) {
	d := runScenario(t, newClock(), smokeFails, nil, 0)
	var out bytes.Buffer
	if err := console.Summary(&out, d); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, "request 10 handled") || !strings.Contains(s, "request 11 handled") || !strings.Contains(s, "request 40 handled") {
		t.Errorf("want exactly the last %d of 40 log lines:\n%s", console.MaxLogLines, s)
	}
	if !strings.Contains(s, "last logs (10 earlier lines not shown)") {
		t.Errorf("summary does not say lines were left out:\n%s", s)
	}
}

func TestConsoleSummaryColoursAndRedacts(t *testing.T) {
	clk := newClock()
	var out syncBuffer
	c := console.New(&out, console.Options{TTY: console.On, Color: console.On, Now: clk.Now, Redact: strings.NewReplacer("acme-green", "[app]").Replace})
	d := runScenario(t, clk, undoFails, c.Observe, 0)
	if err := c.Summary(d); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, "acme-green") {
		t.Error("Redact not applied")
	}
	if !strings.Contains(s, "\x1b[1m\x1b[31m🚨 rollback failed") {
		t.Errorf("banner not bold red:\n%q", s)
	}
}

// TestSummarySaysWhoServesAfterAFailedSwitchBack: when undoing left the new
// colour serving (the switch back failed), the line under the banner says
// which colour serves and what to do, and the report carries it. On
// 239a55e the summary said only "look at production now" while undo had
// removed the colour nginx served.
func TestSummarySaysWhoServesAfterAFailedSwitchBack(t *testing.T) {
	const attention = "green (v1.0.1) is still serving: undoing the switch failed: switch back to blue: nginx: configuration invalid. " +
		"Fix the cause, then run `go tool mage rollback -to=v1.0.0` to return to v1.0.0 on blue (`go tool mage status` shows what runs)"
	d := runScenario(t, newClock(), undoFails, nil, 0)
	d.Attention = attention
	var out bytes.Buffer
	if err := console.Summary(&out, d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.HasPrefix(lines[0], "🚨 rollback failed") || lines[1] != "⚠ "+attention {
		t.Errorf("want the banner, then the attention line; got:\n%s", strings.Join(lines[:3], "\n"))
	}
	rep := console.NewReport(d)
	rep.Redact(func(s string) string { return strings.ReplaceAll(s, "nginx", "***") })
	if !strings.Contains(rep.Attention, "green (v1.0.1) is still serving") || strings.Contains(rep.Attention, "nginx") {
		t.Errorf("report attention (redacted) = %q", rep.Attention)
	}
}

// TestSummaryShowsTheFailedCommandsStderr: a failed command's error message
// shows the last line of its stderr; the summary shows the lines before it
// too, where the cause often is (gzip's "No space left on device" before
// tar's "Error is not recoverable").
func TestSummaryShowsTheFailedCommandsStderr(t *testing.T) {
	exit := &host.ExitError{Host: "local", Argv: []string{"tar", "-c"}, Code: 2,
		StderrTail: "gzip: stdout: No space left on device\ntar: Error is not recoverable: exiting now"}
	d := &deploy.Deployment{Outcome: deploy.OutcomeFailed, Environment: "staging",
		Failure: &deploy.PhaseError{Phase: deploy.PhaseBackup, Err: fmt.Errorf("backup media: %w", exit)}}
	var out bytes.Buffer
	if err := console.Summary(&out, d); err != nil {
		t.Fatal(err)
	}
	want := "backup: backup media: local: tar -c: exit status 2: tar: Error is not recoverable: exiting now\n" +
		"    stderr:\n" +
		"      gzip: stdout: No space left on device\n" +
		"      tar: Error is not recoverable: exiting now\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks\n%s\ngot:\n%s", want, out.String())
	}
}
