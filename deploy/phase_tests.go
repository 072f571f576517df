package deploy

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// testPhase runs the app's test command where blueshift runs (CI), unless
// SKIP_TESTS=true.
type testPhase struct{ e *Engine }

func (testPhase) Name() string { return PhaseTest }

func (p testPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if d.TestsSkipped {
		d.Progress("skipped (SKIP_TESTS=true)")
		return nil
	}
	t := e.Env.Tests
	if len(t.Command) == 0 {
		d.Progress("no tests.command configured")
		return nil
	}
	dir := t.Dir
	if !filepath.IsAbs(dir) && e.ComposeDir != "" {
		dir = filepath.Join(e.ComposeDir, dir)
	}
	d.Progress("running " + strings.Join(t.Command, " "))
	out := &lineWriter{emit: func(line string) { d.Progress(e.redact(line)) }}
	err := bounded(ctx, e.field("tests.timeout"), t.Timeout, func(ctx context.Context) error {
		return host.NewLocal().Run(ctx, host.Cmd{Argv: t.Command, Dir: dir, Env: e.testEnv(), ClearEnv: true, Stdout: out, Stderr: out})
	})
	out.flush()
	if err != nil {
		d.Logs = e.redact(tail(out.all.String(), 30))
		// The error carries the tail of the suite's stderr: mask it too.
		return RedactError(fmt.Errorf("test suite failed (%s): %w; fix the tests, or in an emergency deploy with SKIP_TESTS=true", strings.Join(t.Command, " "), err), e.redact)
	}
	return nil
}

func (p testPhase) Plan(_ context.Context, d *Deployment) (string, error) {
	if d.TestsSkipped {
		return "SKIPPED (SKIP_TESTS=true)", nil
	}
	if len(p.e.Env.Tests.Command) == 0 {
		return "nothing: tests.command is not set", nil
	}
	return "run " + strings.Join(p.e.Env.Tests.Command, " "), nil
}

// testEnv is the whole environment of the test command: the variables of
// TestEnvAllowed and tests.env that are set, and nothing else (blueshift's
// own environment holds the deployment's secrets).
func (e *Engine) testEnv() []string {
	var env []string
	seen := map[string]bool{}
	for _, k := range append(slices.Clone(TestEnvAllowed), e.Env.Tests.Env...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		if v := e.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// lineWriter turns a command's output into one progress message a line,
// keeping everything for the failure report. It is safe for concurrent
// use: a command's stdout and stderr are copied into it by two goroutines.
type lineWriter struct {
	emit    func(string)
	mu      sync.Mutex
	pending []byte
	all     strings.Builder
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(string(w.pending[:i]))
		w.pending = w.pending[i+1:]
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		w.emit(string(w.pending))
		w.pending = nil
	}
}
