package deploy

import (
	"context"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// CountRemote wraps h so that every command run through it while a
// Pipeline phase (or undo step) runs is counted in that phase's
// PhaseResult: RemoteCommands and RemoteTime. Open wraps the engine's host
// this way; a caller building its own Engine (or a test's fake host) wraps
// it too to get the counts.
//
// The phase is found through the ctx of Run: Pipeline.Run hands every
// phase a ctx carrying that phase's counter, and every command a phase runs
// is given that ctx or one derived from it. A command run outside a
// pipeline (Open's compose detection, a status query) is not counted. A
// command is counted when it starts, so a long-lived one (the lock's
// holder session) counts for the phase that started it; its time is added
// when it ends and is lost when that is after the phase. Dialling (the
// Docker API over the forwarded socket, health probes) is not a command
// and is not counted.
func CountRemote(h host.Host) host.Host {
	if _, ok := h.(*countingHost); ok {
		return h
	}
	return &countingHost{Host: h}
}

// countingHost is CountRemote's wrapper: Run counts, everything else is
// h's own.
type countingHost struct {
	host.Host
}

// Unwrap returns the wrapped host, for code that looks for an optional
// ability of the host by type assertion.
func (h *countingHost) Unwrap() host.Host { return h.Host }

// Run runs cmd on the wrapped host and adds it to the phase counter in ctx.
func (h *countingHost) Run(ctx context.Context, cmd host.Cmd) error {
	c, _ := ctx.Value(remoteKey{}).(*remoteCounter)
	if c == nil {
		return h.Host.Run(ctx, cmd)
	}
	end := c.Begin()
	defer end()
	return h.Host.Run(ctx, cmd)
}

// remoteKey is the context key of a phase's *remoteCounter.
type remoteKey struct{}

// remoteCounter sums the commands of one phase (a host.Counting counting
// by Begin); commands may run concurrently, so their times add up to more
// than the phase's duration.
type remoteCounter struct {
	*host.Counting
}

// withRemoteCounter returns ctx carrying a fresh counter read by the clock
// now, and the counter.
func withRemoteCounter(ctx context.Context, now func() time.Time) (context.Context, *remoteCounter) {
	c := &remoteCounter{host.NewCounter(now)}
	return context.WithValue(ctx, remoteKey{}, c), c
}

// fill copies the counts so far into res.
func (c *remoteCounter) fill(res *PhaseResult) {
	s := c.Stats()
	res.RemoteCommands, res.RemoteTime = s.Commands, s.Time
}
