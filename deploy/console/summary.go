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
	sw := &summaryWriter{d: d, p: p, redact: redact}
	sw.banner()
	sw.fields()
	sw.phases()
	sw.facts()
	sw.warnings()
	sw.failure()
	sw.logs()
	_, err := io.WriteString(w, sw.b.String())
	if err != nil {
		return fmt.Errorf("console: write summary: %w", err)
	}
	return nil
}

// summaryWriter builds the summary of d, one section per method, in the
// order writeSummary calls them.
type summaryWriter struct {
	d      *deploy.Deployment
	p      painter
	redact func(string) string
	b      strings.Builder
}

// clean is s redacted and made safe for a terminal.
func (sw *summaryWriter) clean(s string) string { return sanitize(sw.redact(s)) }

func (sw *summaryWriter) line(format string, args ...any) { fmt.Fprintf(&sw.b, format+"\n", args...) }

// field writes "name value" when value is set.
func (sw *summaryWriter) field(name, value string) {
	if value != "" {
		sw.line("  %s %s", pad(name, 12), sw.clean(value))
	}
}

// section starts a titled section.
func (sw *summaryWriter) section(title string) {
	sw.line("")
	sw.line("%s", title)
}

// banner is the outcome line, coloured, and what a person must do now.
func (sw *summaryWriter) banner() {
	d := sw.d
	bannerSGR := sgrGreen
	switch d.Outcome {
	case deploy.OutcomeRolledBack, "":
		bannerSGR = sgrYellow
	case deploy.OutcomeFailed, deploy.OutcomeRollbackFailed:
		bannerSGR = sgrRed
	}
	sw.line("%s", sw.p.paint(sgrBold+bannerSGR, Banner(d)))
	if d.Attention != "" {
		sw.line("%s", sw.p.paint(sgrBold+sgrRed, glyphWarning+" "+indentRest(sw.clean(d.Attention), "  ")))
	}
	sw.line("")
}

// fields are the deployment's facts about itself: version, ID, colours, …
func (sw *summaryWriter) fields() {
	d := sw.d
	sw.field("version", d.Version.String())
	sw.field("deployment", d.ID)
	sw.field("environment", d.Environment)
	if d.Live != "" || d.Next != "" {
		sw.field("colours", fmt.Sprintf("%s → %s", orNone(string(d.Live)), orNone(string(d.Next))))
	}
	sw.field("commit", d.Commit)
	sw.field("actor", d.Actor)
	sw.field("reason", d.Reason)
	if d.TestsSkipped {
		sw.field("tests", "SKIPPED")
	}
	sw.field("backup", d.BackupID)
	if r := d.Report; !r.Started.IsZero() {
		sw.field("started", r.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
		if !r.Finished.IsZero() {
			sw.field("duration", formatDuration(r.Finished.Sub(r.Started)))
		}
	}
	if n, t := remoteTotal(d.Report.Phases); n > 0 {
		sw.field("remote", fmt.Sprintf("%d commands on the host, %s", n, formatDuration(t)))
	}
}

// phases is one line per phase and undo step.
func (sw *summaryWriter) phases() {
	if len(sw.d.Report.Phases) == 0 {
		return
	}
	remoteN, _ := remoteTotal(sw.d.Report.Phases)
	sw.section("phases")
	for _, ph := range sw.d.Report.Phases {
		sw.phase(ph, remoteN > 0)
	}
}

// phaseGlyph is the glyph and colour of a phase's outcome.
func phaseGlyph(ph deploy.PhaseResult) (glyph, sgr string) {
	switch {
	case ph.Outcome == deploy.PhaseFailed:
		return glyphFailed, sgrRed
	case ph.Outcome == deploy.PhaseUndone || ph.Undo:
		return glyphUndone, sgrYellow
	case ph.Outcome == deploy.PhaseSkipped:
		return glyphSkipped, sgrDim
	}
	return glyphOK, sgrGreen
}

// phase is the line of one phase (or undo step).
func (sw *summaryWriter) phase(ph deploy.PhaseResult, withRemote bool) {
	label := ph.Name
	if ph.Undo {
		label = "undo " + ph.Name
	}
	glyph, sgr := phaseGlyph(ph)
	dur := formatDuration(ph.Duration)
	if ph.Outcome == deploy.PhaseSkipped {
		dur = ""
	}
	remote := ""
	if withRemote {
		remote = remoteColumn(ph) + "  "
	}
	s := fmt.Sprintf("  %s %s %6s  %s%s", sw.p.paint(sgr, glyph), pad(label, labelWidth), dur, remote, ph.Outcome)
	if ph.Err != "" {
		s += ": " + truncate(firstLine(sw.clean(ph.Err)), 80)
	}
	sw.line("%s", strings.TrimRight(s, " "))
}

func (sw *summaryWriter) facts() {
	if len(sw.d.Report.Facts) == 0 {
		return
	}
	sw.section("facts")
	for _, f := range sw.d.Report.Facts {
		sw.line("  %s: %s", sw.clean(f.Name), indentRest(sw.clean(f.Value), "    "))
	}
}

func (sw *summaryWriter) warnings() {
	if len(sw.d.Report.Warnings) == 0 {
		return
	}
	sw.section("warnings")
	for _, wn := range sw.d.Report.Warnings {
		sw.line("  %s", sw.p.paint(sgrYellow, glyphWarning+" "+indentRest(sw.clean(wn), "    ")))
	}
}

// failure is the phase that failed and the undo steps that failed.
func (sw *summaryWriter) failure() {
	d := sw.d
	if d.Failure == nil && len(d.UndoErrors) == 0 {
		return
	}
	sw.section("failure")
	if d.Failure != nil {
		sw.line("  %s %s: %s", sw.p.paint(sgrRed, glyphFailed), d.Failure.Phase, indentRest(sw.clean(errString(d.Failure.Err)), "    "))
	}
	for _, u := range d.UndoErrors {
		sw.line("  %s undo %s: %s", sw.p.paint(sgrRed, glyphFailed), u.Phase, indentRest(sw.clean(errString(u.Err)), "    "))
	}
}

// logs are the last MaxLogLines lines of the failing colour's logs.
func (sw *summaryWriter) logs() {
	d := sw.d
	if strings.TrimSpace(d.Logs) == "" {
		return
	}
	logs := strings.Split(strings.TrimRight(sw.clean(d.Logs), "\n"), "\n")
	sw.line("")
	if n := len(logs) - MaxLogLines; n > 0 {
		sw.line("last logs (%d earlier lines not shown)", n)
		logs = logs[n:]
	} else {
		sw.line("last logs")
	}
	for _, l := range logs {
		sw.line("    %s", strings.TrimRight(truncate(l, maxLogLineWidth), " \r"))
	}
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
