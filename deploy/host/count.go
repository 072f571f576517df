package host

import (
	"context"
	"sync"
	"time"
)

// CommandStats is a count of remote commands and the time spent in them.
type CommandStats struct {
	// Commands is the number of commands started, failed ones included.
	Commands int
	// Time is the sum of their durations, added as each ends; commands
	// that ran at the same time are each counted in full.
	Time time.Duration
}

// Sub returns the commands run since earlier, a Stats of the same counter:
// take Stats before and after a phase to attribute its commands to it.
func (s CommandStats) Sub(earlier CommandStats) CommandStats {
	return CommandStats{Commands: s.Commands - earlier.Commands, Time: s.Time - earlier.Time}
}

// Counting counts commands and the time they took, for reports (the
// deployment report's per-phase counts, see deploy.CountRemote) and for
// tests that pin how many round trips a piece of work costs. As a Runner
// it counts the commands run through it. It is safe for concurrent use.
type Counting struct {
	runner Runner
	now    func() time.Time
	mu     sync.Mutex
	stats  CommandStats
}

// NewCounting returns a Runner that runs commands with r and counts them.
func NewCounting(r Runner) *Counting { return &Counting{runner: r, now: time.Now} }

// NewCounter returns a Counting that runs nothing itself: its user counts
// each command with Begin, timed by now (time.Now when nil). Run must not
// be called on it.
func NewCounter(now func() time.Time) *Counting {
	if now == nil {
		now = time.Now
	}
	return &Counting{now: now}
}

// Begin counts a command starting now and returns the function to call
// when it ends, which adds its duration. A command is counted when it
// starts, so a long-lived one counts for the span that started it.
func (c *Counting) Begin() (end func()) {
	c.mu.Lock()
	c.stats.Commands++
	c.mu.Unlock()
	start := c.now()
	return func() {
		d := c.now().Sub(start)
		c.mu.Lock()
		c.stats.Time += d
		c.mu.Unlock()
	}
}

// Run runs cmd with the wrapped Runner and counts it.
func (c *Counting) Run(ctx context.Context, cmd Cmd) error {
	end := c.Begin()
	defer end()
	return c.runner.Run(ctx, cmd)
}

// Stats returns the commands counted so far.
func (c *Counting) Stats() CommandStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

var _ Runner = (*Counting)(nil)
