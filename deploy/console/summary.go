package console

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// MaxLogLines is how many of the failing colour's last log lines the
// summary shows.
const MaxLogLines = 30

// maxLogLineWidth bounds one log line in the summary.
const maxLogLineWidth = 200

// Summary writes the final summary of d to w, without ANSI codes: an
// outcome banner (✅ deployed, 🔄 rolled back, ❌ failed, 🚨 rollback failed),
// what a person must do now when undoing left the new colour serving
// (Deployment.Attention), version, deployment ID, environment and colours, every phase and undo step
// with its duration and outcome, the facts, the warnings, the failure with
// the undo errors, and the last MaxLogLines log lines. Call it after the
// pipeline returned.
func Summary(w io.Writer, d *deploy.Deployment) error {
	return writeSummary(w, d, false, nil)
}

// Banner is the one-line outcome of d, the first line of Summary.
func Banner(d *deploy.Deployment) string {
	env := orDash(d.Environment)
	v := orDash(d.Version.String())
	failed := ""
	if d.Failure != nil {
		failed = " in phase " + d.Failure.Phase
	}
	switch d.Outcome {
	case deploy.OutcomeSucceeded:
		return fmt.Sprintf("✅ deployed %s to %s (%s is live)", v, env, orDash(string(d.Next)))
	case deploy.OutcomeRolledBack:
		return fmt.Sprintf("🔄 rolled back: %s failed%s on %s; what it changed was undone", v, failed, env)
	case deploy.OutcomeFailed:
		return fmt.Sprintf("❌ failed: %s failed%s on %s; nothing had changed for users", v, failed, env)
	case deploy.OutcomeRollbackFailed:
		return fmt.Sprintf("🚨 rollback failed: %s failed%s on %s and undoing it failed too; look at %s now", v, failed, env, env)
	default:
		return fmt.Sprintf("⏳ %s on %s has not finished", v, env)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeSummary(w io.Writer, d *deploy.Deployment, p painter, redact func(string) string) error {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	clean := func(s string) string { return sanitize(redact(s)) }
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	bannerSGR := sgrGreen
	switch d.Outcome {
	case deploy.OutcomeRolledBack, "":
		bannerSGR = sgrYellow
	case deploy.OutcomeFailed, deploy.OutcomeRollbackFailed:
		bannerSGR = sgrRed
	}
	line("%s", p.paint(sgrBold+bannerSGR, Banner(d)))
	if d.Attention != "" {
		line("%s", p.paint(sgrBold+sgrRed, glyphWarning+" "+indentRest(clean(d.Attention), "  ")))
	}
	line("")

	field := func(name, value string) {
		if value != "" {
			line("  %s %s", pad(name, 12), clean(value))
		}
	}
	field("version", d.Version.String())
	field("deployment", d.ID)
	field("environment", d.Environment)
	if d.Live != "" || d.Next != "" {
		field("colours", fmt.Sprintf("%s → %s", orNone(string(d.Live)), orNone(string(d.Next))))
	}
	field("commit", d.Commit)
	field("actor", d.Actor)
	field("reason", d.Reason)
	if d.TestsSkipped {
		field("tests", "SKIPPED")
	}
	field("backup", d.BackupID)
	if r := d.Report; !r.Started.IsZero() {
		field("started", r.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
		if !r.Finished.IsZero() {
			field("duration", formatDuration(r.Finished.Sub(r.Started)))
		}
	}
	remoteN, remoteT := remoteTotal(d.Report.Phases)
	if remoteN > 0 {
		field("remote", fmt.Sprintf("%d commands on the host, %s", remoteN, formatDuration(remoteT)))
	}

	if len(d.Report.Phases) > 0 {
		line("")
		line("phases")
		for _, ph := range d.Report.Phases {
			label := ph.Name
			if ph.Undo {
				label = "undo " + ph.Name
			}
			glyph, sgr := glyphOK, sgrGreen
			switch {
			case ph.Outcome == deploy.PhaseFailed:
				glyph, sgr = glyphFailed, sgrRed
			case ph.Outcome == deploy.PhaseUndone || ph.Undo:
				glyph, sgr = glyphUndone, sgrYellow
			case ph.Outcome == deploy.PhaseSkipped:
				glyph, sgr = glyphSkipped, sgrDim
			}
			dur := formatDuration(ph.Duration)
			if ph.Outcome == deploy.PhaseSkipped {
				dur = ""
			}
			remote := ""
			if remoteN > 0 {
				remote = remoteColumn(ph) + "  "
			}
			s := fmt.Sprintf("  %s %s %6s  %s%s", p.paint(sgr, glyph), pad(label, labelWidth), dur, remote, ph.Outcome)
			if ph.Err != "" {
				s += ": " + truncate(firstLine(clean(ph.Err)), 80)
			}
			line("%s", strings.TrimRight(s, " "))
		}
	}

	if len(d.Report.Facts) > 0 {
		line("")
		line("facts")
		for _, f := range d.Report.Facts {
			line("  %s: %s", clean(f.Name), indentRest(clean(f.Value), "    "))
		}
	}

	if len(d.Report.Warnings) > 0 {
		line("")
		line("warnings")
		for _, wn := range d.Report.Warnings {
			line("  %s", p.paint(sgrYellow, glyphWarning+" "+indentRest(clean(wn), "    ")))
		}
	}

	if d.Failure != nil || len(d.UndoErrors) > 0 {
		line("")
		line("failure")
		if d.Failure != nil {
			line("  %s %s: %s", p.paint(sgrRed, glyphFailed), d.Failure.Phase, indentRest(clean(errString(d.Failure.Err)), "    "))
		}
		for _, u := range d.UndoErrors {
			line("  %s undo %s: %s", p.paint(sgrRed, glyphFailed), u.Phase, indentRest(clean(errString(u.Err)), "    "))
		}
	}

	if logs := strings.Split(strings.TrimRight(clean(d.Logs), "\n"), "\n"); strings.TrimSpace(d.Logs) != "" {
		line("")
		if n := len(logs) - MaxLogLines; n > 0 {
			line("last logs (%d earlier lines not shown)", n)
			logs = logs[n:]
		} else {
			line("last logs")
		}
		for _, l := range logs {
			line("    %s", strings.TrimRight(truncate(l, maxLogLineWidth), " \r"))
		}
	}

	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("console: write summary: %w", err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// errString is err's message and, when a command failed with more than
// one line of stderr, those lines (a host.ExitError keeps the last ones;
// its message shows only the last).
func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	s := err.Error()
	var exit *host.ExitError
	if errors.As(err, &exit) && strings.Contains(exit.StderrTail, "\n") {
		s += "\nstderr:\n  " + strings.ReplaceAll(exit.StderrTail, "\n", "\n  ")
	}
	return s
}

// indentRest indents every line of s after the first.
func indentRest(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}

// remoteColumn is a phase's remote commands and their summed time, a
// fixed-width column ("   4 cmd   0.2s"), blank when it ran none. The
// summary leaves the column out when no phase ran a command.
func remoteColumn(ph deploy.PhaseResult) string {
	if ph.RemoteCommands == 0 {
		return strings.Repeat(" ", 15)
	}
	return fmt.Sprintf("%4d cmd %6s", ph.RemoteCommands, formatDuration(ph.RemoteTime))
}

// remoteTotal sums the remote commands of phases and undo steps.
func remoteTotal(phases []deploy.PhaseResult) (n int, t time.Duration) {
	for _, ph := range phases {
		n += ph.RemoteCommands
		t += ph.RemoteTime
	}
	return n, t
}
