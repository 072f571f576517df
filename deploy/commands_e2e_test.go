package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// countingHost is a host that records every remote command it runs (one
// Run is one SSH session, or one framed command over a long-lived one),
// attributed to the pipeline phase running at the time. Dialing (the Docker
// API over the forwarded socket, health probes) is not counted.
type countingHost struct {
	host.Host
	mu    sync.Mutex
	phase string // "" between phases: counted to the next phase
	cmds  []counted
	gap   []counted // run between two phases (the in-flight marker)
}

type counted struct {
	phase string
	argv  []string
}

func (c *countingHost) Run(ctx context.Context, cmd host.Cmd) error {
	c.mu.Lock()
	rec := counted{phase: c.phase, argv: cmd.Argv}
	if strings.Join(cmd.Argv, " ") == "docker compose version --short" {
		// Open's compose detection runs in the background: whenever it
		// starts, it is Open's.
		rec.phase = "open"
		c.cmds = append(c.cmds, rec)
	} else if c.phase == "" {
		c.gap = append(c.gap, rec)
	} else {
		c.cmds = append(c.cmds, rec)
	}
	c.mu.Unlock()
	return c.Host.Run(ctx, cmd)
}

// observe is Deployment.Observe: it is called as the open engine's phases start and finish.
func (c *countingHost) observe(e deploy.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Kind {
	case deploy.EventPhaseStarted, deploy.EventUndoStarted:
		name := e.Phase
		if e.Kind == deploy.EventUndoStarted {
			name = "undo-" + name
		}
		for _, g := range c.gap {
			g.phase = name
			c.cmds = append(c.cmds, g)
		}
		c.gap = nil
		c.phase = name
	case deploy.EventPhaseFinished, deploy.EventUndoFinished:
		c.phase = ""
	}
}

// reset starts a new count, attributed to phase until the first phase starts.
func (c *countingHost) reset(phase string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmds, c.gap, c.phase = nil, nil, phase
}

// perPhase returns the count per phase in order of first appearance, and
// the total.
func (c *countingHost) perPhase() (order []string, counts map[string]int, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts = map[string]int{}
	all := append(append([]counted(nil), c.cmds...), c.gap...)
	for _, r := range all {
		p := r.phase
		if p == "" {
			p = "after"
		}
		if _, ok := counts[p]; !ok {
			order = append(order, p)
		}
		counts[p]++
		total++
	}
	return order, counts, total
}

func (c *countingHost) log(t *testing.T, what string) {
	t.Helper()
	c.mu.Lock()
	all := append(append([]counted(nil), c.cmds...), c.gap...)
	c.mu.Unlock()
	var b strings.Builder
	for _, r := range all {
		argv := strings.Join(r.argv, " ")
		if len(argv) > 160 {
			argv = argv[:160] + "…"
		}
		fmt.Fprintf(&b, "  %-10s %s\n", r.phase, strings.ReplaceAll(argv, "\n", "⏎"))
	}
	order, counts, total := c.perPhase()
	fmt.Fprintf(&b, "%s: %d remote commands:", what, total)
	for _, p := range order {
		fmt.Fprintf(&b, " %s=%d", p, counts[p])
	}
	t.Logf("%s\n%s", what, b.String())
}

// TestRemoteCommandsPerPhasePinned deploys the demo app (v1.0.0, then
// v1.0.1) and rolls back, on the real Docker Engine behind a real nginx,
// through a host that counts every remote command (over SSH each one is a
// session: a round trip and the login shell's start-up), and pins the count
// of each phase, so a change that adds round trips fails here, naming the
// phase and listing the commands. Health, smoke and monitor probes and the
// Docker API go through the host's dialer and are not counted. On 8fa63d2 a
// deployment ran 208 remote commands here (231 over SSH in issue 17: state
// written seven commands at a time, the in-flight marker before every phase,
// one command per preflight check) and a rollback 98; on 5078919 59 and 19
// (nginx's switch five commands, a `test -e` before each compose start or
// stop, preflight asking the Docker version by CLI); on 1c088c8 48 and 14
// (unlock writing state again after record, preflight asking compose's
// version again and memory, disk and each media check apart: 11
// commands, the manifest written apart from the finish step, sha256sum
// and stat apart); on 11741f1 39 and 13 (backup's prune reading each
// backup's manifest and verified.json apart, so it grew with the backups
// kept: 24 in the SSH bench; a media volume five commands, the docker
// state five, release.json one; the lock then a read of state.json; the
// switch marked in state before and Live written after nginx's one
// command; a rollback's health mark; prepare reading the proxy's
// upstream file in a command of its own); now 21 and 8.
func TestRemoteCommandsPerPhasePinned(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	a := newE2E(t, "v1.0.0", "v1.0.1")
	f := &faultApp{e2eApp: a, env: map[string]string{"USER": "e2e"}}
	counter := &countingHost{Host: host.NewLocal()}
	f.opts.Host = counter
	// "open" is the engine's own start (compose's version); the phases of
	// the pipeline follow. The in-flight marker of a phase counts in it.
	want := []struct {
		run    string
		phases map[string]int
	}{
		// unlock runs none: record cleared the in-flight record in its write.
		// backup: stage, the docker state, finish (with release.json and
		// the manifest), the prune's list; v1.0.1 adds the media volume
		// and the checksums.
		// prepare: the in-flight record (the lock's command read the
		// proxy's upstream file).
		{"v1.0.0", map[string]int{"open": 1, "lock": 1, "prepare": 1, "preflight": 4, "backup": 4, "start": 2,
			"migrate": 1, "health": 1, "switch": 1, "record": 2}},
		{"v1.0.1", map[string]int{"open": 1, "lock": 1, "prepare": 1, "preflight": 5, "backup": 6, "start": 2,
			"migrate": 1, "health": 1, "switch": 1, "retire": 1, "record": 2}},
		// health writes nothing: rollback-prepare recorded the release.
		{"rollback", map[string]int{"open": 1, "lock": 1, "rollback-prepare": 1, "rollback-start": 1,
			"switch": 1, "retire": 1, "record": 2}},
	}
	for _, w := range want {
		counter.reset("open")
		v := w.run
		if v == "rollback" {
			v = ""
		}
		d, err := f.run(t, v, counter.observe)
		require.NoError(t, err)
		require.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
		_, got, total := counter.perPhase()
		counter.log(t, w.run)
		assert.Equal(t, w.phases, got, "%s: remote commands per phase (see the log for each command)", w.run)
		t.Logf("%s: %d remote commands", w.run, total)
	}
}
