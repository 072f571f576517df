package host

import (
	"context"
	"sync"
	"time"
)

// CommandStats is a count of remote commands and the time spent in them.
type CommandStats struct {
	// Commands is the number of Run calls, failed ones included.
	Commands int
	// Time is the sum of their durations; commands that ran at the same
	// time are each counted in full.
	Time time.Duration
}

// Sub returns the commands run since earlier, a Stats of the same counter:
// take Stats before and after a phase to attribute its commands to it.
func (s CommandStats) Sub(earlier CommandStats) CommandStats {
	return CommandStats{Commands: s.Commands - earlier.Commands, Time: s.Time - earlier.Time}
}

// Counting is a Runner that counts the commands run through it and the
// time they took, for reports and for tests that pin how many round trips
// a piece of work costs. It is safe for concurrent use.
type Counting struct {
	runner Runner
	mu     sync.Mutex
	stats  CommandStats
}

// NewCounting returns a Runner that runs commands with r and counts them.
func NewCounting(r Runner) *Counting { return &Counting{runner: r} }

// Run runs cmd with the wrapped Runner and counts it.
func (c *Counting) Run(ctx context.Context, cmd Cmd) error {
	start := time.Now()
	err := c.runner.Run(ctx, cmd)
	d := time.Since(start)
	c.mu.Lock()
	c.stats.Commands++
	c.stats.Time += d
	c.mu.Unlock()
	return err
}

// Stats returns the commands counted so far.
func (c *Counting) Stats() CommandStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// CountingHost is a Host whose commands are counted; dials are not
// (they are not remote commands).
type CountingHost struct {
	Host
	*Counting
}

// NewCountingHost wraps h so that its commands are counted.
func NewCountingHost(h Host) *CountingHost {
	return &CountingHost{Host: h, Counting: NewCounting(h)}
}

// Run runs cmd on the wrapped host and counts it.
func (h *CountingHost) Run(ctx context.Context, cmd Cmd) error { return h.Counting.Run(ctx, cmd) }

var (
	_ Runner = (*Counting)(nil)
	_ Host   = (*CountingHost)(nil)
)
