package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

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
	if c.phase == "" {
		c.gap = append(c.gap, rec)
	} else {
		c.cmds = append(c.cmds, rec)
	}
	c.mu.Unlock()
	return c.Host.Run(ctx, cmd)
}

// setPhase is called as the open engine's phases start and finish.
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

func TestRemoteCommandsMeasure(t *testing.T) {
	a := newE2E(t, "v1.0.0", "v1.0.1")
	f := &faultApp{e2eApp: a, env: map[string]string{"USER": "e2e"}}
	counter := &countingHost{Host: host.NewLocal()}
	f.opts.Host = counter
	for _, v := range []string{"v1.0.0", "v1.0.1", ""} {
		counter.reset("open")
		_, err := f.run(t, v, counter.observe)
		require.NoError(t, err)
		name := v
		if v == "" {
			name = "rollback"
		}
		counter.log(t, name)
	}
}
