package console_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// fakeClock is a manual clock shared by the deployment and the console:
// only the phases move it, so every duration is known.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 12, 27, 18, 30, 50, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scenario says how a scripted deployment ends.
type scenario int

const (
	succeeds scenario = iota
	smokeFails
	undoFails
	preflightFails
)

// scenarios are the outcomes the golden tests cover, by golden file name.
var scenarios = map[string]scenario{
	"succeeded":       succeeds,
	"rolled-back":     smokeFails,
	"rollback-failed": undoFails,
	"failed":          preflightFails,
}

// remoteCmds is how many commands each scripted phase runs on the host.
var remoteCmds = map[string]int{"lock": 2, "prepare": 3, "preflight": 1, "start": 6, "switch": 4, "unlock": 1}

// clockHost is a fake host whose every command succeeds and takes each on
// the fake clock.
type clockHost struct {
	clk  *fakeClock
	each time.Duration
}

func (h *clockHost) Run(context.Context, host.Cmd) error { h.clk.Advance(h.each); return nil }
func (h *clockHost) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("clockHost: no dialling")
}
func (h *clockHost) Name() string { return "fake" }
func (h *clockHost) Close() error { return nil }

// runScenario runs a real deploy.Pipeline of scripted phases against a
// deployment observed by observe; sleep, when set, runs inside the health
// phase (real time, for the spinner).
func runScenario(t *testing.T, clk *fakeClock, sc scenario, observe func(deploy.Event), sleep time.Duration) *deploy.Deployment {
	t.Helper()
	d := &deploy.Deployment{
		Environment: "production",
		Version:     version.MustParse("v1.0.1"),
		ID:          "prod-v1.0.1-20241227_183050",
		Commit:      "3f2a9c1",
		Actor:       "alice",
		Reason:      "weekly release",
		Live:        version.Blue,
		Next:        version.Green,
		Observe:     observe,
		Clock:       clk.Now,
	}
	// Each phase runs remoteCmds[name] commands on a fake host, 40ms each
	// out of its duration, counted by deploy.CountRemote.
	h := deploy.CountRemote(&clockHost{clk: clk, each: 40 * time.Millisecond})
	remote := func(ctx context.Context, n int) time.Duration {
		for range n {
			if err := h.Run(ctx, host.Cmd{Argv: []string{"true"}}); err != nil {
				t.Fatal(err)
			}
		}
		return time.Duration(n) * 40 * time.Millisecond
	}
	step := func(name string, dur time.Duration, body func(d *deploy.Deployment) error) *deploy.Func {
		return &deploy.Func{PhaseName: name, RunFunc: func(ctx context.Context, d *deploy.Deployment) error {
			clk.Advance(dur - remote(ctx, remoteCmds[name]))
			if body != nil {
				return body(d)
			}
			return nil
		}}
	}
	lock := step("lock", 120*time.Millisecond, nil)
	prepare := step("prepare", 250*time.Millisecond, func(d *deploy.Deployment) error {
		d.AddFact("live colour", "blue")
		d.AddFact("next colour", "green")
		if sc == succeeds {
			d.TestsSkipped = true
			d.Warn("SKIP_TESTS=true: the test suite will not run (emergency path)")
		}
		return nil
	})
	preflight := step("preflight", 400*time.Millisecond, func(d *deploy.Deployment) error {
		d.Progress("disk: 12.0 GiB free")
		if sc == preflightFails {
			return errors.New("disk: 0.4 GiB free on /srv/app, need 2 GiB: free space or lower preflight.min_disk")
		}
		return nil
	})
	start := step("start", 3*time.Second, func(d *deploy.Deployment) error {
		d.Progress("pulling ghcr.io/acme/web:v1.0.1")
		clk.Advance(5 * time.Second)
		d.Progress("web: started")
		return nil
	})
	start.UndoFunc = func(ctx context.Context, _ *deploy.Deployment) error {
		clk.Advance(800*time.Millisecond - remote(ctx, 2))
		d.Progress("removing acme-green")
		if sc == undoFails {
			return errors.New("docker compose -p acme-green down: exit status 1: Cannot connect to the Docker daemon")
		}
		return nil
	}
	health := step("health", 0, func(d *deploy.Deployment) error {
		for i := 1; i <= 3; i++ {
			clk.Advance(time.Second)
			outcome := "connection refused"
			if i == 3 {
				outcome = "200 OK"
			}
			d.Progress(fmt.Sprintf("web: attempt %d: %s", i, outcome))
		}
		if sleep > 0 {
			time.Sleep(sleep)
		}
		d.AddFact("health web", "healthy after 3 attempt(s), 3s")
		return nil
	})
	smoke := step("smoke", 2*time.Second, func(d *deploy.Deployment) error {
		d.Progress("\nGET /            200   12ms\nGET /api/health 500    8ms")
		if sc == smokeFails || sc == undoFails {
			var b strings.Builder
			for i := 1; i <= 40; i++ {
				fmt.Fprintf(&b, "web-1  | 2024-12-27T18:31:%02dZ request %d handled\n", i, i)
			}
			d.Logs = b.String()
			return errors.New("GET /api/health answered 500, want 200\nbody: {\"db\":\"down\"}")
		}
		d.AddFact("smoke", "2 endpoints passed in 20ms")
		return nil
	})
	sw := step("switch", 600*time.Millisecond, func(d *deploy.Deployment) error {
		d.Switched = true
		return nil
	})
	sw.UndoFunc = func(context.Context, *deploy.Deployment) error { return nil }
	notify := step("notify", 300*time.Millisecond, nil)
	notify.Final = true
	unlock := step("unlock", 50*time.Millisecond, nil)
	unlock.Final = true

	p := deploy.NewPipeline(lock, prepare, preflight, start, health, smoke, sw, notify, unlock)
	err := p.Run(context.Background(), d)
	if (err == nil) != (sc == succeeds) {
		t.Fatalf("pipeline: %v", err)
	}
	return d
}
