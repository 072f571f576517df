package console_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/console"
	"github.com/blueshift-deploy/blueshift/health"
)

// TestJobSummaryWrittenToStepSummary renders each scenario's job summary to
// the file $GITHUB_STEP_SUMMARY names, as a run in Actions does, and checks
// the gantt block, the monitor's figures, the notes and the annotations.
func TestJobSummaryWrittenToStepSummary(t *testing.T) {
	for name, sc := range scenarios {
		t.Run(name, func(t *testing.T) {
			d := runScenario(t, newClock(), sc, nil, 0)
			d.Monitor = &health.Summary{Probe: "GET https://the-bot.ru/health", Checks: 30, Errors: 1,
				P50: 12 * time.Millisecond, P95: 48 * time.Millisecond, P99: 91 * time.Millisecond}
			d.Notes = "### Features\n- login with SECRET-TOKEN-1\n"
			file := filepath.Join(t.TempDir(), "step_summary.md")
			// GitHub's file holds earlier steps' summaries: it is appended to.
			if err := os.WriteFile(file, []byte("earlier step\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"GITHUB_STEP_SUMMARY": file, "GITHUB_ACTIONS": "true"}
			redact := func(s string) string { return strings.ReplaceAll(s, "SECRET-TOKEN-1", "***") }
			var out bytes.Buffer
			if err := console.WriteGitHub(&out, d, redact, func(k string) string { return env[k] }); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := string(b)
			rest, ok := strings.CutPrefix(got, "earlier step\n")
			if !ok {
				t.Fatalf("the summary replaced the file's earlier content:\n%s", got)
			}
			golden(t, "jobsummary-"+name+".golden.md", rest+"--- stdout ---\n"+out.String())

			if !strings.HasPrefix(rest, "### "+console.Banner(d)+"\n") {
				t.Errorf("first line is not the outcome:\n%s", rest)
			}
			_, gantt, ok := strings.Cut(rest, "```mermaid\ngantt\n")
			gantt, _, closed := strings.Cut(gantt, "```\n")
			if !ok || !closed {
				t.Fatalf("no fenced mermaid gantt block:\n%s", rest)
			}
			for _, want := range []string{"dateFormat x", "section Phases", "    lock 0.1s :done, p0, 0, 120\n"} {
				if !strings.Contains(gantt, want) {
					t.Errorf("gantt lacks %q:\n%s", want, gantt)
				}
			}
			if !strings.Contains(rest, "| 30 | 1 | 12ms | 48ms | 91ms |") {
				t.Errorf("monitor figures missing:\n%s", rest)
			}
			if !strings.Contains(rest, "- login with ***") || strings.Contains(rest+out.String(), "SECRET-TOKEN-1") {
				t.Errorf("release notes missing or not redacted:\n%s", rest)
			}
			if d.Failure != nil {
				if !strings.Contains(gantt, ":crit, ") {
					t.Errorf("the failed phase is not marked crit:\n%s", gantt)
				}
				if !strings.Contains(out.String(), "::error title=production v1.0.1 "+string(d.Outcome)+" in phase "+d.Failure.Phase+"::") {
					t.Errorf("no ::error:: line for phase %s:\n%s", d.Failure.Phase, out.String())
				}
			} else if strings.Contains(out.String(), "::error") {
				t.Errorf("::error:: for a success:\n%s", out.String())
			}
			if len(d.Report.Warnings) > 0 && !strings.Contains(out.String(), "::warning::") {
				t.Errorf("no ::warning:: line for %q:\n%s", d.Report.Warnings, out.String())
			}
		})
	}
}

// TestJobSummaryOutsideActions: without GITHUB_STEP_SUMMARY and
// GITHUB_ACTIONS nothing is written.
func TestJobSummaryOutsideActions(t *testing.T) {
	d := runScenario(t, newClock(), smokeFails, nil, 0)
	var out bytes.Buffer
	if err := console.WriteGitHub(&out, d, nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q outside Actions", out.String())
	}
}
