package health_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/health"
)

// degrading serves 200 for the first healthy requests, then 500.
func degrading(t testing.TB, healthy int32) (*httptest.Server, *atomic.Int32) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > healthy {
			http.Error(w, "database connection lost", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

type tickLog struct {
	mu    sync.Mutex
	ticks []health.Tick
}

func (l *tickLog) add(t health.Tick) { l.mu.Lock(); l.ticks = append(l.ticks, t); l.mu.Unlock() }

func TestMonitorHealthyReturnsSummaryAtWindowEnd(t *testing.T) {
	t.Parallel()
	srv, _ := degrading(t, 1<<30)
	var log tickLog
	// A check may take 2s (Timeout): on a loaded machine a healthy answer
	// can be late, and only a wrong answer or none at all is an error.
	m := health.Monitor{
		Probe:     &health.HTTPProbe{URL: srv.URL + "/api/health/"},
		Window:    500 * time.Millisecond,
		Interval:  50 * time.Millisecond,
		Timeout:   2 * time.Second,
		MaxErrors: health.DefaultMaxErrors,
		OnTick:    log.add,
	}
	start := time.Now()
	sum, err := m.Run(context.Background())
	took := time.Since(start)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, took, 500*time.Millisecond, "watched the whole window")
	// It returns at the window's end: a check starts only before the end,
	// so at most one check's Timeout later (the virtual clock in
	// TestMonitorSeedWindow pins it exactly).
	assert.Less(t, took, 500*time.Millisecond+m.Timeout, "returned at the window's end")
	assert.Equal(t, 500*time.Millisecond, sum.Window)
	assert.GreaterOrEqual(t, sum.Elapsed, 500*time.Millisecond)
	// Checks at 0, 50, ..., 450ms; fewer on a loaded machine (a late check
	// is followed at once, not by a burst). The exact schedule is pinned
	// with a virtual clock in TestMonitorSeedWindow.
	assert.GreaterOrEqual(t, sum.Checks, 3)
	assert.LessOrEqual(t, sum.Checks, 10)
	assert.Len(t, log.ticks, sum.Checks)
	assert.Zero(t, sum.Errors)
	assert.Equal(t, map[int]int{200: sum.Checks}, sum.Statuses)
	assert.Positive(t, sum.P50)
	assert.LessOrEqual(t, sum.P50, sum.P95)
	assert.LessOrEqual(t, sum.P95, sum.P99)
	assert.LessOrEqual(t, sum.P99, sum.Max)
	assert.NoError(t, sum.LastError)

	table := sum.Table()
	assert.Regexp(t, `(?m)^checks +\d+$`, table)
	assert.Regexp(t, `(?m)^errors +0 \(budget 3, 0\.0%\)$`, table)
	assert.Regexp(t, `(?m)^statuses +200×\d+$`, table)
	assert.Regexp(t, `(?m)^latency +p50 \S+  p95 \S+  p99 \S+  max \S+$`, table)
}

func TestMonitorStopsWhenBudgetExceeded(t *testing.T) {
	t.Parallel()
	srv, requests := degrading(t, 5)
	var log tickLog
	m := health.Monitor{
		Probe:     &health.HTTPProbe{URL: srv.URL + "/api/health/"},
		Window:    10 * time.Second,
		Interval:  10 * time.Millisecond,
		Timeout:   2 * time.Second, // a slow 200 is not a failure
		MaxErrors: 3,
		OnTick:    log.add,
	}
	start := time.Now()
	sum, err := m.Run(context.Background())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "stopped long before the window")
	assert.ErrorIs(t, err, health.ErrBudgetExceeded)
	var be *health.BudgetError
	require.ErrorAs(t, err, &be)
	var pe *health.ProbeError
	require.ErrorAs(t, err, &pe, "the last check's error is kept")
	assert.Equal(t, 500, pe.Status)

	// 5 good checks, then the 4th failure (one more than MaxErrors) ends it:
	// no check runs after the budget is exceeded.
	assert.Equal(t, 9, sum.Checks)
	assert.Equal(t, int32(9), requests.Load())
	assert.Equal(t, 4, sum.Errors)
	assert.Equal(t, map[int]int{200: 5, 500: 4}, sum.Statuses)
	require.Len(t, log.ticks, 9)
	for i, tk := range log.ticks {
		assert.Equal(t, i+1, tk.N)
		assert.Equal(t, max(0, i+1-5), tk.Errors)
	}
	assert.Equal(t, be.Summary, sum)
	assert.True(t, strings.HasPrefix(err.Error(), "monitor: GET "+srv.URL+"/api/health/: 4 failed checks of 9 in "), err.Error())
	assert.Contains(t, err.Error(), "exceed the budget of 3: last: GET "+srv.URL+"/api/health/: status 500 Internal Server Error, want 200: body: database connection lost")
}

func TestMonitorStartsFailingAfterAWhile(t *testing.T) {
	t.Parallel()
	// Time-based: the target fails from 100ms after the first check on.
	// However the ticks fall, the monitor returns on the tick of its 4th
	// error, not later.
	var once sync.Once
	var begin time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { begin = time.Now() })
		if time.Since(begin) > 100*time.Millisecond {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	var log tickLog
	_, err := health.Monitor{
		Probe: &health.HTTPProbe{URL: srv.URL}, Window: 30 * time.Second, Interval: 15 * time.Millisecond,
		Timeout: 2 * time.Second, MaxErrors: 3, OnTick: log.add,
	}.Run(context.Background())
	require.ErrorIs(t, err, health.ErrBudgetExceeded)
	first := -1
	for i, tk := range log.ticks {
		if tk.Err != nil && first < 0 {
			first = i
		}
	}
	require.GreaterOrEqual(t, first, 1)
	assert.Len(t, log.ticks, first+4, "returned on the (MaxErrors+1)th error tick")
	assert.Equal(t, 4, log.ticks[len(log.ticks)-1].Errors)
}

func TestMonitorZeroTolerance(t *testing.T) {
	t.Parallel()
	srv, _ := degrading(t, 0)
	sum, err := health.Monitor{Probe: &health.HTTPProbe{URL: srv.URL}, Window: time.Second, Interval: 10 * time.Millisecond}.Run(context.Background())
	assert.ErrorIs(t, err, health.ErrBudgetExceeded)
	assert.Equal(t, 1, sum.Checks)
}

func TestMonitorCancel(t *testing.T) {
	t.Parallel()
	srv, _ := degrading(t, 1<<30)
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel while the monitor waits for its third check (after two
	// recorded ones, however slow the machine).
	var cancelled atomic.Int64
	onTick := func(tk health.Tick) {
		if tk.N == 2 {
			time.AfterFunc(20*time.Millisecond, func() { cancelled.Store(time.Now().UnixNano()); cancel() })
		}
	}
	sum, err := health.Monitor{
		Probe: &health.HTTPProbe{URL: srv.URL}, Window: time.Minute, Interval: 500 * time.Millisecond,
		Timeout: 2 * time.Second, MaxErrors: 3, OnTick: onTick,
	}.Run(ctx)
	require.NotZero(t, cancelled.Load(), "returned before the cancel")
	assert.Less(t, time.Since(time.Unix(0, cancelled.Load())), 5*time.Second, "stopped at the cancel, not at the next check or the window's end")
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, health.ErrBudgetExceeded)
	assert.Equal(t, 2, sum.Checks)
	assert.Zero(t, sum.Errors)
}

func TestMonitorConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := health.Monitor{}.Run(context.Background())
	assert.EqualError(t, err, "monitor: no probe")
	_, err = health.Monitor{Probe: &scripted{}, MaxErrors: -1}.Run(context.Background())
	assert.EqualError(t, err, "monitor: max_errors: must be >= 0")
}

func TestMonitorNonHTTPProbe(t *testing.T) {
	t.Parallel()
	p := &scripted{errs: []error{nil, errDown, nil}}
	sum, err := health.Monitor{Probe: p, Window: 500 * time.Millisecond, Interval: 10 * time.Millisecond, MaxErrors: 1}.Run(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, sum.Checks, 2)
	assert.Equal(t, 1, sum.Errors)
	assert.Equal(t, map[int]int{0: sum.Checks}, sum.Statuses)
	assert.ErrorIs(t, sum.LastError, errDown)
	assert.Regexp(t, `(?m)^statuses +no-status×\d+$`, sum.Table())
	assert.Regexp(t, `(?m)^last error +scripted: check failed: backend down$`, sum.Table())
	assert.InDelta(t, 1/float64(sum.Checks), sum.ErrRate(), 1e-9)
}
