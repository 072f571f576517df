package devtargets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupGate: .ci/setup runs only as root and in CI or with -setup;
// otherwise the target stops naming the missing components and the one
// command (before, `go tool mage test` skipped every test needing them and
// reported success).
func TestSetupGate(t *testing.T) {
	for _, c := range []struct {
		root, ci, asked, want bool
	}{
		{false, false, false, false}, {false, true, true, false},
		{true, false, false, false}, {true, true, false, true}, {true, false, true, true},
	} {
		if got := setupAllowed(c.root, c.ci, c.asked); got != c.want {
			t.Errorf("setupAllowed(root=%v, ci=%v, -setup=%v) = %v", c.root, c.ci, c.asked, got)
		}
	}
	missing := missingComponents([]component{
		{"here", func() error { return nil }},
		{"nginx", func() error { return errors.New("no") }},
		{"Redis", func() error { return errors.New("no") }},
	})
	if strings.Join(missing, ",") != "nginx,Redis" {
		t.Errorf("missing = %q", missing)
	}
	msg := errMissing(missing).Error()
	if !strings.Contains(msg, "the tests need nginx, Redis, missing here: run `sudo bash .ci/setup`") {
		t.Errorf("message: %s", msg)
	}
}

// TestCountsATinyPackage runs `go test -json` on a package with a passing,
// a skipping and a failing test (one with a passing and a failing subtest)
// and checks the counts, the output kept and the verdict.
func TestCountsATinyPackage(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module tiny\n\ngo 1.22\n",
		"tiny_test.go": `package tiny

import "testing"

func TestPass(t *testing.T) { t.Log("quiet-when-passing") }
func TestSkip(t *testing.T) { t.Skip("component unavailable") }
func TestParent(t *testing.T) {
	t.Run("ok", func(t *testing.T) {})
	t.Run("bad", func(t *testing.T) { t.Error("loud-when-failing") })
}
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	got, err := goTestJSON(context.Background(), dir, &out, "-count=1", "./...")
	if err == nil {
		t.Error("go test of a failing package succeeded")
	}
	if got.Passed != 2 || got.Skipped != 1 || got.Failed != 2 {
		t.Errorf("tally = %+v, want 2 passed (TestPass, TestParent/ok), 1 skipped, 2 failed (TestParent, TestParent/bad)", got)
	}
	o := out.String()
	if !strings.Contains(o, "loud-when-failing") || !strings.Contains(o, "component unavailable") ||
		strings.Contains(o, "quiet-when-passing") || !strings.Contains(o, "FAIL\ttiny") {
		t.Errorf("output:\n%s", o)
	}
	if s := got.summary(); s != "4 tests ran against the real components: 2 passed, 1 skipped, 2 failed" {
		t.Errorf("summary: %s", s)
	}
	verdict := got.err()
	if verdict == nil || !strings.Contains(verdict.Error(), "1 test(s) skipped, which must be 0: tiny TestSkip") ||
		!strings.Contains(verdict.Error(), "2 test(s) failed: tiny TestParent/bad, tiny TestParent") {
		t.Errorf("verdict: %v", verdict)
	}
	// Only passes: a success; nothing at all: not one.
	if err := (tally{Passed: 3}).err(); err != nil {
		t.Errorf("all passed: %v", err)
	}
	if err := (tally{}).err(); err == nil {
		t.Error("no test ran, yet no error")
	}
}

// TestRaceReportOfAPassingTestIsShown: go test -json attributes a race
// report to whichever parallel test ran last; when that one passed, its
// output was dropped, and CI showed only "race detected during execution
// of test" under the failing one, without the report (how it failed in a
// CI rehearsal of this repository).
func TestRaceReportOfAPassingTestIsShown(t *testing.T) {
	events := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"run","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"==================\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"WARNING: DATA RACE\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"Read at 0x1 by goroutine 62:\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"==================\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"quiet-when-passing\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    testing.go:1712: race detected during execution of test\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB"}`,
	}, "\n")
	var out strings.Builder
	got, err := readTestEvents(strings.NewReader(events), &out)
	if err != nil || got.Passed != 1 || got.Failed != 1 {
		t.Fatalf("tally %+v, %v", got, err)
	}
	for _, want := range []string{"==================\nWARNING: DATA RACE\nRead at 0x1 by goroutine 62:\n==================\n", "race detected during execution of test"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "quiet-when-passing") {
		t.Errorf("a passing test's own output was shown:\n%s", out.String())
	}
}
