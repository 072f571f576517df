package devtargets

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// testRuns are the test commands of the repository: the main module, and
// the consumer example, which is a module of its own.
var testRuns = []struct{ dir, label string }{
	{".", "blueshift"},
	{"examples/consumer", "examples/consumer (a separate module importing blueshift)"},
}

// setupCommand is the one command that installs and starts what the tests
// need.
const setupCommand = "sudo bash .ci/setup"

// component is one real thing the tests run against, and how to tell it is
// there (what hosttest.Require's callers need).
type component struct {
	name  string
	check func() error
}

// components are what .ci/setup installs and starts.
var components = []component{
	{"Docker Engine", func() error { return exec.Command("docker", "version").Run() }},
	{"Docker Compose v2", func() error { return exec.Command("docker", "compose", "version").Run() }},
	{"sshd (" + hosttest.SSHDPath + ")", func() error { return executable(hosttest.SSHDPath) }},
	{"nginx (" + hosttest.NginxBinary + ")", func() error { return executable(hosttest.NginxBinary) }},
	{"caddy", func() error { return executable(caddyPath()) }},
	{"git", func() error { _, err := exec.LookPath("git"); return err }},
	{"pg_dump", func() error { _, err := exec.LookPath("pg_dump"); return err }},
	{"PostgreSQL", func() error { return dialURL(hosttest.PostgresURL()) }},
	{"Redis", func() error { return dial(hosttest.RedisAddr()) }},
}

// caddyPath is the Caddy the tests run: $BLUESHIFT_CADDY or
// $(go env GOPATH)/bin/caddy, which .ci/setup builds.
func caddyPath() string {
	if p := os.Getenv("BLUESHIFT_CADDY"); p != "" {
		return p
	}
	return filepath.Join(build.Default.GOPATH, "bin", "caddy")
}

// executable reports whether path is an executable file.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err == nil && (fi.IsDir() || fi.Mode()&0o111 == 0) {
		err = fmt.Errorf("%s is not an executable file", path)
	}
	return err
}

// dial reports whether something accepts TCP connections at addr.
func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

// dialURL dials the host:port of a database URL.
func dialURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	return dial(u.Host)
}

// missingComponents lists the components whose check fails.
func missingComponents(cs []component) []string {
	var missing []string
	for _, c := range cs {
		if c.check() != nil {
			missing = append(missing, c.name)
		}
	}
	return missing
}

// setupAllowed reports whether the test target may run .ci/setup itself:
// as root, and in CI or when asked (-setup).
func setupAllowed(root, ci, asked bool) bool { return root && (ci || asked) }

// errMissing is the error for components still missing: it names them and
// the one command to run.
func errMissing(missing []string) error {
	return fmt.Errorf("the tests need %s, missing here: run `%s` (or `go tool mage test -setup` as root), then again",
		strings.Join(missing, ", "), setupCommand)
}

// Test runs every test of the repository against the real components, with the race detector, the two modules in parallel; it fails if any test skips.
//
// First it checks that Docker, Compose, sshd, nginx, Caddy, PostgreSQL,
// Redis, git and pg_dump are here; if not, it runs .ci/setup when it may
// (as root, with CI=true or -setup) or stops at once naming the command
// to run. The tests run with CI=true, so a missing component fails its
// test instead of skipping it. The last line counts the tests that passed,
// skipped (must be 0) and failed.
func Test(ctx context.Context, setup *bool) error {
	missing := missingComponents(components)
	if len(missing) > 0 {
		if !setupAllowed(os.Geteuid() == 0, hosttest.InCI(), setup != nil && *setup) {
			return fail(errMissing(missing))
		}
		fmt.Printf("missing %s: running bash .ci/setup\n", strings.Join(missing, ", "))
		cmd := exec.CommandContext(ctx, "bash", ".ci/setup")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fail(fmt.Errorf(".ci/setup: %w", err))
		}
		if missing := missingComponents(components); len(missing) > 0 {
			return fail(errMissing(missing))
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex // serialises the two runs' output
		total tally
	)
	errs := make([]error, len(testRuns))
	tallies := make([]tally, len(testRuns))
	for i, r := range testRuns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tallies[i], errs[i] = goTestJSON(ctx, r.dir, &lockedWriter{mu: &mu, w: os.Stdout}, "-race", "-count=1", "-timeout", "40m", "./...")
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", r.label, errs[i])
			}
		}()
	}
	wg.Wait()
	for _, t := range tallies {
		total.add(t)
	}
	fmt.Println(total.summary())
	if err := errors.Join(append(errs, total.err())...); err != nil {
		return fail(err)
	}
	return nil
}

// goTestJSON runs `go test -json args` in dir with CI=true, writes what a
// person needs to out (package results, build errors, the output of tests
// that failed or skipped) and counts the tests.
func goTestJSON(ctx context.Context, dir string, out io.Writer, args ...string) (tally, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=true")
	cmd.Stderr = out
	r, err := cmd.StdoutPipe()
	if err != nil {
		return tally{}, err
	}
	if err := cmd.Start(); err != nil {
		return tally{}, err
	}
	t, readErr := readTestEvents(r, out)
	err = cmd.Wait()
	if readErr != nil {
		return t, readErr
	}
	return t, err
}

// testEvent is one line of `go test -json` (cmd/test2json).
type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// tally counts tests (subtests included) by result.
type tally struct {
	Passed, Skipped, Failed int
	// SkippedNames and FailedNames are "package TestName".
	SkippedNames, FailedNames []string
}

func (t *tally) add(o tally) {
	t.Passed += o.Passed
	t.Skipped += o.Skipped
	t.Failed += o.Failed
	t.SkippedNames = append(t.SkippedNames, o.SkippedNames...)
	t.FailedNames = append(t.FailedNames, o.FailedNames...)
}

// summary is the last line of the test target.
func (t tally) summary() string {
	return fmt.Sprintf("%d tests ran against the real components: %d passed, %d skipped, %d failed",
		t.Passed+t.Failed, t.Passed, t.Skipped, t.Failed)
}

// err is non-nil when a test failed or skipped (a skipped test proved
// nothing, so the run is not a success) or when no test ran at all.
func (t tally) err() error {
	var errs []error
	if t.Failed > 0 {
		errs = append(errs, fmt.Errorf("%d test(s) failed: %s", t.Failed, strings.Join(t.FailedNames, ", ")))
	}
	if t.Skipped > 0 {
		errs = append(errs, fmt.Errorf("%d test(s) skipped, which must be 0: %s", t.Skipped, strings.Join(t.SkippedNames, ", ")))
	}
	if t.Passed+t.Failed+t.Skipped == 0 {
		errs = append(errs, errors.New("no test ran"))
	}
	return errors.Join(errs...)
}

// readTestEvents reads `go test -json` output from r, counts the tests and
// writes to out the package lines, build output, the output of each test
// that failed or skipped (passing tests' output is dropped) and every race
// report (go test attributes one to whichever parallel test ran last,
// which may pass, so it is written as it comes).
func readTestEvents(r io.Reader, out io.Writer) (tally, error) {
	var t tally
	held := map[string][]string{} // a running test's output, by package and name
	var race raceReport
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e testEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(out, sc.Text()) // not an event: go's own message
			continue
		}
		key := e.Package + " " + e.Test
		if e.Action == "output" && race.take(e.Output, out) {
			continue
		}
		switch {
		case e.Action == "build-output":
			io.WriteString(out, e.Output)
		case e.Test == "":
			if e.Action == "output" && !strings.HasPrefix(e.Output, "=== ") && e.Output != "PASS\n" {
				io.WriteString(out, e.Output)
			}
		case e.Action == "output":
			held[key] = append(held[key], e.Output)
		case e.Action == "pass":
			t.Passed++
			delete(held, key)
		case e.Action == "skip":
			t.Skipped++
			t.SkippedNames = append(t.SkippedNames, key)
			io.WriteString(out, strings.Join(held[key], ""))
			delete(held, key)
		case e.Action == "fail":
			t.Failed++
			t.FailedNames = append(t.FailedNames, key)
			io.WriteString(out, strings.Join(held[key], ""))
			delete(held, key)
		}
	}
	return t, sc.Err()
}

// raceReport finds the race detector's reports in a test's output:
// "==================", "WARNING: DATA RACE", ..., "==================".
type raceReport struct {
	in      bool
	pending string // a "==================" line that may open a report
}

// take writes line to out when it belongs to a race report and says
// whether it did.
func (r *raceReport) take(line string, out io.Writer) bool {
	const rule = "==================\n"
	switch {
	case r.in:
		io.WriteString(out, line)
		r.in = line != rule
		return true
	case strings.HasPrefix(line, "WARNING: DATA RACE"):
		io.WriteString(out, r.pending+line)
		r.in, r.pending = true, ""
		return true
	case line == rule:
		r.pending = line
		return false
	}
	r.pending = ""
	return false
}

// lockedWriter serialises writes of concurrent runs.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
