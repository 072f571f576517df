package deploy

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// tickingHost is a fake host whose every command takes exactly step on
// the deployment's manual clock, and which counts its commands.
type tickingHost struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
	runs int
}

func (h *tickingHost) clock() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }

func (h *tickingHost) Run(ctx context.Context, cmd host.Cmd) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(h.step)
	h.runs++
	if len(cmd.Argv) > 0 && cmd.Argv[0] == "false" {
		return &host.ExitError{Host: "fake", Argv: cmd.Argv, Code: 1}
	}
	return nil
}

func (h *tickingHost) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no dialling")
}
func (h *tickingHost) Name() string { return "fake" }
func (h *tickingHost) Close() error { return nil }

// runN is a phase that runs n commands on r ("false" last when fail).
func runN(r host.Runner, name string, n int, fail bool, undoN int) *Func {
	f := &Func{PhaseName: name, RunFunc: func(ctx context.Context, d *Deployment) error {
		for i := 0; i < n; i++ {
			argv := []string{"true"}
			if fail && i == n-1 {
				argv = []string{"false"}
			}
			if err := r.Run(ctx, host.Cmd{Argv: argv}); err != nil {
				return err
			}
		}
		return nil
	}}
	if undoN > 0 {
		f.UndoFunc = func(ctx context.Context, d *Deployment) error {
			for i := 0; i < undoN; i++ {
				if err := r.Run(ctx, host.Cmd{Argv: []string{"true"}}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return f
}

func finalN(r host.Runner, name string, n int) *Func {
	f := runN(r, name, n, false, 0)
	f.Final = true
	return f
}

// TestRemoteCommandsCountedPerPhase: on 8fa63d2 the report said how long a
// phase took but not how many commands it ran on the host, so a deployment
// over SSH that ran 231 remote commands (issue 17) showed only slow phases.
// Now every phase, undo step and final phase has its own count and summed
// time, the in-flight marker written as a phase starts counts for that
// phase, and commands run outside a phase count for none.
func TestRemoteCommandsCountedPerPhase(t *testing.T) {
	fake := &tickingHost{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), step: 10 * time.Millisecond}
	h := CountRemote(fake)
	assert.Same(t, h, CountRemote(h), "wrapping twice would count twice")

	d := &Deployment{Clock: fake.clock}
	p := NewPipeline(
		runN(h, "lock", 2, false, 1),
		runN(h, "prepare", 0, false, 0),
		runN(h, "start", 3, false, 2),
		runN(h, "smoke", 4, true, 0),
		runN(h, "skipped", 5, false, 0),
		finalN(h, "unlock", 1),
	)
	p.BeforePhase = func(ctx context.Context, d *Deployment, phase string) {
		if phase == "start" { // the engine's in-flight marker
			require.NoError(t, h.Run(ctx, host.Cmd{Argv: []string{"true"}}))
		}
	}
	require.NoError(t, h.Run(context.Background(), host.Cmd{Argv: []string{"true"}}), "outside a pipeline")
	err := p.Run(context.Background(), d)
	require.Error(t, err)

	type line struct {
		name string
		undo bool
		n    int
		time time.Duration
	}
	var got []line
	for _, r := range d.Report.Phases {
		got = append(got, line{r.Name, r.Undo, r.RemoteCommands, r.RemoteTime})
	}
	ms := time.Millisecond
	assert.Equal(t, []line{
		{"lock", false, 2, 20 * ms},
		{"prepare", false, 0, 0},
		{"start", false, 4, 40 * ms}, // 3 + the marker
		{"smoke", false, 4, 40 * ms}, // the failing command counts too
		{"start", true, 2, 20 * ms},
		{"lock", true, 1, 10 * ms},
		{"skipped", false, 0, 0},
		{"unlock", false, 1, 10 * ms},
	}, got)
	assert.Equal(t, 1+2+4+4+2+1+1, fake.runs, "every command reached the host once")
}

// TestRemoteCountKeepsHostAbilities: the counting wrapper is still the
// host: its name, dialler and Close are the wrapped host's.
func TestRemoteCountKeepsHostAbilities(t *testing.T) {
	fake := &tickingHost{}
	h := CountRemote(fake)
	assert.Equal(t, "fake", h.Name())
	_, err := h.DialContext(context.Background(), "tcp", "127.0.0.1:1")
	assert.EqualError(t, err, "no dialling")
	assert.NoError(t, h.Close())
	assert.Same(t, fake, h.(interface{ Unwrap() host.Host }).Unwrap())
}
