package console

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// JobSummary renders d as GitHub Actions job-summary Markdown: the outcome
// line (Banner), a Mermaid gantt of the phases and undo steps as they ran
// (GitHub renders it as a chart), the stability monitor's p50/p95/p99 when
// it ran, and the release notes. redact (nil: none) masks secrets. Call it
// after the pipeline returned.
func JobSummary(d *deploy.Deployment, redact func(string) string) string {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	clean := func(s string) string { return sanitize(redact(s)) }
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", clean(Banner(d)))
	if d.Failure != nil {
		fmt.Fprintf(&b, "Failed in **%s**: %s\n\n", d.Failure.Phase, mdInline(clean(d.Failure.Err.Error())))
	}
	if d.Attention != "" {
		fmt.Fprintf(&b, "> [!CAUTION]\n> %s\n\n", mdInline(clean(d.Attention)))
	}
	if len(d.Report.Phases) > 0 {
		b.WriteString("```mermaid\n")
		b.WriteString(Gantt(d))
		b.WriteString("```\n\n")
	}
	if m := d.Monitor; m != nil {
		b.WriteString("| monitor | checks | errors | p50 | p95 | p99 |\n|---|---|---|---|---|---|\n")
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s |\n\n", mdInline(clean(m.Probe)), m.Checks, m.Errors,
			m.P50.Round(100*time.Microsecond), m.P95.Round(100*time.Microsecond), m.P99.Round(100*time.Microsecond))
	}
	if notes := strings.TrimSpace(d.Notes); notes != "" {
		fmt.Fprintf(&b, "<details><summary>Release notes</summary>\n\n%s\n\n</details>\n", clean(notes))
	}
	return b.String()
}

// Gantt is the Mermaid gantt chart of d's phases and undo steps, without
// the fence: each in the order it ran, starting where the previous one
// ended (the pipeline runs one at a time), in milliseconds from the start,
// in sections Phases, Undo and Final (what runs after the undo); failed
// ones are marked crit, skipped ones left out.
func Gantt(d *deploy.Deployment) string {
	var b strings.Builder
	title := strings.TrimSpace(d.Environment + " " + d.Version.String())
	fmt.Fprintf(&b, "gantt\n    title %s\n    dateFormat x\n    axisFormat %%M:%%S\n", ganttText(title))
	section := ""
	var at time.Duration
	for i, p := range d.Report.Phases {
		if p.Outcome == deploy.PhaseSkipped {
			continue
		}
		want := "Phases"
		switch {
		case p.Undo:
			want = "Undo"
		case section == "Undo" || section == "Final":
			want = "Final" // the phases that run whatever happened
		}
		if want != section {
			section = want
			fmt.Fprintf(&b, "    section %s\n", section)
		}
		tag := "done"
		if p.Outcome == deploy.PhaseFailed {
			tag = "crit"
		}
		// Mermaid draws nothing for a zero-length task: give it 1 ms.
		end := at + max(p.Duration, time.Millisecond)
		fmt.Fprintf(&b, "    %s %s :%s, p%d, %d, %d\n", ganttText(p.Name), formatDuration(p.Duration), tag, i, at.Milliseconds(), end.Milliseconds())
		at = end
	}
	return b.String()
}

// ganttText keeps s from breaking a gantt line (':' and '#' and ';' are
// Mermaid syntax there).
func ganttText(s string) string {
	return strings.NewReplacer(":", " ", "#", " ", ";", " ", "\n", " ").Replace(s)
}

// mdInline keeps s on one Markdown line.
func mdInline(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`).Replace(s)
}

// Annotations are the GitHub Actions workflow commands for d: an
// "::error title=…::" line naming the failing phase, one for each failed
// undo step, and a "::warning::" line per warning. redact (nil: none)
// masks secrets.
func Annotations(d *deploy.Deployment, redact func(string) string) []string {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	var out []string
	add := func(level, title, msg string) {
		line := "::" + level
		if title != "" {
			line += " title=" + escapeProperty(title)
		}
		out = append(out, line+"::"+escapeData(sanitize(redact(msg))))
	}
	if d.Failure != nil {
		add("error", fmt.Sprintf("%s %s %s in phase %s", d.Environment, d.Version, d.Outcome, d.Failure.Phase), d.Failure.Err.Error())
	}
	for _, u := range d.UndoErrors {
		add("error", "undo "+u.Phase+" failed", u.Err.Error())
	}
	if d.Attention != "" {
		add("error", "look now", d.Attention)
	}
	for _, w := range d.Report.Warnings {
		add("warning", "", w)
	}
	return out
}

// escapeData escapes a workflow command's message as the Actions toolkit
// does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value as the
// Actions toolkit does.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// WriteGitHub reports d to GitHub Actions: it appends JobSummary to the
// file $GITHUB_STEP_SUMMARY names, when set, and writes Annotations to w
// when $GITHUB_ACTIONS is "true". Outside Actions it does nothing. getenv
// is usually os.Getenv.
func WriteGitHub(w io.Writer, d *deploy.Deployment, redact func(string) string, getenv func(string) string) error {
	if getenv("GITHUB_ACTIONS") == "true" {
		for _, a := range Annotations(d, redact) {
			if _, err := fmt.Fprintln(w, a); err != nil {
				return fmt.Errorf("console: write annotations: %w", err)
			}
		}
	}
	path := getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("console: job summary (GITHUB_STEP_SUMMARY): %w", err)
	}
	_, err = io.WriteString(f, JobSummary(d, redact))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("console: job summary %s: %w", path, err)
	}
	return nil
}
