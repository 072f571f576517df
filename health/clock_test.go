package health

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is virtual time: sleeping moves it forward at once, so the
// seed's real schedules (minutes) run in microseconds and exactly.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// seqProbe passes until check number failFrom (counting from 1), then fails;
// failFrom 0 never fails.
type seqProbe struct {
	checks   int
	failFrom int
	at       []time.Time
	clock    *fakeClock
}

func (p *seqProbe) Name() string { return "seq" }

func (p *seqProbe) Check(context.Context) error {
	p.checks++
	p.at = append(p.at, p.clock.Now())
	if p.failFrom > 0 && p.checks >= p.failFrom {
		return errors.New("502 from upstream")
	}
	return nil
}

func (p *seqProbe) offsets(start time.Time) []time.Duration {
	out := make([]time.Duration, len(p.at))
	for i, t := range p.at {
		out[i] = t.Sub(start)
	}
	return out
}

func TestWaitSeedSchedules(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	ctx := withClock(context.Background(), clk)
	start := clk.Now()

	// Backend: 30 attempts, 10s apart, all inside the 5 minute timeout.
	p := &seqProbe{failFrom: 1, clock: clk}
	rep, err := Wait(ctx, p, BackendPolicy(), nil)
	var we *WaitError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 30, p.checks)
	assert.Equal(t, 290*time.Second, p.offsets(start)[29])
	assert.Equal(t, 290*time.Second, rep.Elapsed)
	assert.Equal(t, "30 of 30 attempts used, 1 more pass(es) in a row needed", we.Reason)

	// Frontend: 10 attempts, 5s apart.
	start = clk.Now()
	p = &seqProbe{failFrom: 1, clock: clk}
	_, err = Wait(ctx, p, FrontendPolicy(), nil)
	require.Error(t, err)
	assert.Equal(t, 10, p.checks)
	assert.Equal(t, 45*time.Second, p.offsets(start)[9])
}

func TestWaitTimeoutCountsTheStreakStillNeeded(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	ctx := withClock(context.Background(), clk)
	start := clk.Now()

	// Attempts at 0, 10, 20, 30s; a 40s attempt would start after 35s.
	p := &seqProbe{failFrom: 1, clock: clk}
	_, err := Wait(ctx, p, Policy{Attempts: 100, Interval: 10 * time.Second, Timeout: 35 * time.Second}, nil)
	var we *WaitError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}, p.offsets(start))
	assert.Equal(t, "1 more pass(es) in a row cannot fit in the 35s timeout", we.Reason)

	// Three passes in a row within 60s: after a failure at 30s they would
	// need attempts at 40, 50 and 60s, and 60s is the deadline.
	start = clk.Now()
	p = &seqProbe{failFrom: 1, clock: clk}
	_, err = Wait(ctx, p, Policy{Attempts: 100, Interval: 10 * time.Second, Timeout: time.Minute, SuccessesInRow: 3}, nil)
	require.ErrorAs(t, err, &we)
	assert.Len(t, p.at, 4)
	assert.Equal(t, "3 more pass(es) in a row cannot fit in the 1m0s timeout", we.Reason)
}

func TestMonitorSeedWindow(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	ctx := withClock(context.Background(), clk)
	start := clk.Now()

	// Healthy: a check every 10s for 5 minutes, the summary at 5 minutes.
	p := &seqProbe{clock: clk}
	sum, err := Monitor{Probe: p, MaxErrors: DefaultMaxErrors}.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, 30, sum.Checks)
	assert.Equal(t, 290*time.Second, p.offsets(start)[29])
	assert.Equal(t, DefaultMonitorWindow, sum.Elapsed)
	assert.Equal(t, DefaultMonitorWindow, sum.Window)

	// Failing from the 11th check (100s): the 4th error is the 14th check, at
	// 130s, and the monitor stops there.
	start = clk.Now()
	p = &seqProbe{failFrom: 11, clock: clk}
	var ticks []Tick
	sum, err = Monitor{Probe: p, MaxErrors: DefaultMaxErrors, OnTick: func(tk Tick) { ticks = append(ticks, tk) }}.Run(ctx)
	require.ErrorIs(t, err, ErrBudgetExceeded)
	assert.Equal(t, 14, sum.Checks)
	assert.Equal(t, 4, sum.Errors)
	assert.Len(t, ticks, 14)
	assert.Equal(t, 130*time.Second, sum.Elapsed)
	assert.Equal(t, map[int]int{0: 14}, sum.Statuses)
}

func TestMonitorDoesNotBurstAfterASlowCheck(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	ctx := withClock(context.Background(), clk)
	start := clk.Now()
	// The 2nd check takes 25s (virtual): the 3rd follows at once, then the
	// schedule resumes 10s apart instead of catching up.
	p := &slowProbe{clock: clk, slow: map[int]time.Duration{2: 25 * time.Second}}
	sum, err := Monitor{Probe: p, Window: 60 * time.Second, Interval: 10 * time.Second, Timeout: time.Minute}.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{0, 10 * time.Second, 35 * time.Second, 45 * time.Second, 55 * time.Second}, p.offsets(start))
	assert.Equal(t, 5, sum.Checks)
}

type slowProbe struct {
	seqProbe
	clock *fakeClock
	slow  map[int]time.Duration
}

func (p *slowProbe) Check(ctx context.Context) error {
	p.seqProbe.clock = p.clock
	err := p.seqProbe.Check(ctx)
	if d := p.slow[p.checks]; d > 0 {
		_ = p.clock.SleepUntil(ctx, p.clock.Now().Add(d))
	}
	return err
}
