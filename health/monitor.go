package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Defaults of the seed pipeline's post-switch stability check.
const (
	DefaultMonitorWindow   = 5 * time.Minute
	DefaultMonitorInterval = 10 * time.Second
	DefaultMaxErrors       = 3
)

// Monitor watches a probe for a window of time after the switch and fails
// as soon as more than MaxErrors checks have failed.
type Monitor struct {
	// Probe is what is watched (usually the public URL's health endpoint).
	Probe Probe
	// Window is how long to watch; zero means DefaultMonitorWindow (5m).
	Window time.Duration
	// Interval is the time between the starts of two checks, the first
	// check being immediate; a check that overruns it is followed at once.
	// Zero means DefaultMonitorInterval (10s).
	Interval time.Duration
	// Timeout bounds each check; zero means Interval.
	Timeout time.Duration
	// MaxErrors is how many failed checks the window tolerates; one more
	// fails the monitor at once. Zero tolerates none; the seed pipeline
	// uses DefaultMaxErrors (3).
	MaxErrors int
	// OnTick, when set, is called after every check.
	OnTick func(Tick)
}

// Tick is one check made by a Monitor.
type Tick struct {
	// N counts checks from 1.
	N int
	Observation
	// Errors is the number of failed checks so far, this one included.
	Errors int
}

// Summary is what a Monitor saw.
type Summary struct {
	Probe     string
	Start     time.Time
	Elapsed   time.Duration
	Window    time.Duration
	MaxErrors int
	// Checks and Errors count all and failed checks.
	Checks, Errors int
	// P50, P95, P99 and Max are latency percentiles (nearest rank) over
	// every check, failed ones included.
	P50, P95, P99, Max time.Duration
	// Statuses counts checks by HTTP status; key 0 counts checks without
	// an HTTP status (connection errors, non-HTTP probes).
	Statuses map[int]int
	// LastError is the latest failed check's error.
	LastError error
}

// ErrRate is the fraction of checks that failed (0 when none ran).
func (s Summary) ErrRate() float64 {
	if s.Checks == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Checks)
}

// WriteTable writes the summary as aligned "key value" lines.
func (s Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "probe\t%s\n", s.Probe)
	fmt.Fprintf(tw, "watched\t%s of %s\n", roundDur(s.Elapsed), s.Window)
	fmt.Fprintf(tw, "checks\t%d\n", s.Checks)
	fmt.Fprintf(tw, "errors\t%d (budget %d, %.1f%%)\n", s.Errors, s.MaxErrors, 100*s.ErrRate())
	fmt.Fprintf(tw, "latency\tp50 %s  p95 %s  p99 %s  max %s\n", roundDur(s.P50), roundDur(s.P95), roundDur(s.P99), roundDur(s.Max))
	codes := make([]int, 0, len(s.Statuses))
	for c := range s.Statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		label := strconv.Itoa(c)
		if c == 0 {
			label = "no-status"
		}
		parts[i] = label + "×" + strconv.Itoa(s.Statuses[c])
	}
	fmt.Fprintf(tw, "statuses\t%s\n", strings.Join(parts, "  "))
	if s.LastError != nil {
		fmt.Fprintf(tw, "last error\t%s\n", s.LastError)
	}
	return tw.Flush()
}

// Table is WriteTable into a string.
func (s Summary) Table() string { return tableString(s.WriteTable) }

// ErrBudgetExceeded is matched (errors.Is) by the error Monitor.Run returns
// when more checks failed than MaxErrors allows.
var ErrBudgetExceeded = errors.New("error budget exceeded")

// BudgetError is a Monitor stopped because its error budget ran out.
type BudgetError struct {
	Summary Summary
}

func (e *BudgetError) Error() string {
	s := e.Summary
	msg := fmt.Sprintf("monitor: %s: %d failed checks of %d in %s exceed the budget of %d", s.Probe, s.Errors, s.Checks, roundDur(s.Elapsed), s.MaxErrors)
	if s.LastError != nil {
		msg += ": last: " + s.LastError.Error()
	}
	return msg
}

// Unwrap returns ErrBudgetExceeded and the last check's error.
func (e *BudgetError) Unwrap() []error {
	if e.Summary.LastError == nil {
		return []error{ErrBudgetExceeded}
	}
	return []error{ErrBudgetExceeded, e.Summary.LastError}
}

// Run checks the probe every Interval until Window has passed, and returns
// the summary. It returns early with a *BudgetError (matching
// ErrBudgetExceeded) right after the check that exceeds MaxErrors, and with
// the context's error when ctx ends.
func (m Monitor) Run(ctx context.Context) (Summary, error) {
	window, interval := m.Window, m.Interval
	if window <= 0 {
		window = DefaultMonitorWindow
	}
	if interval <= 0 {
		interval = DefaultMonitorInterval
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = interval
	}
	if m.Probe == nil {
		return Summary{}, errors.New("monitor: no probe")
	}
	if m.MaxErrors < 0 {
		return Summary{}, errors.New("monitor: max_errors: must be >= 0")
	}
	clk := clockFrom(ctx)
	st := m.newStats(clk, window)
	end := st.start.Add(window)
	due := st.start
	for n := 1; ; n++ {
		if n > 1 {
			// Keep to the schedule, but follow a check that overran it at
			// once rather than with a burst.
			due = due.Add(interval)
			if now := clk.Now(); now.After(due) {
				due = now
			}
			if !due.Before(end) {
				break
			}
		}
		if err := clk.SleepUntil(ctx, due); err != nil {
			return st.summary(), fmt.Errorf("monitor: %s: %w", st.probe, err)
		}
		tick, err := m.check(ctx, st, n, timeout)
		if err != nil {
			return st.summary(), fmt.Errorf("monitor: %s: %w", st.probe, err)
		}
		if m.OnTick != nil {
			m.OnTick(tick)
		}
		if st.errors > m.MaxErrors {
			sum := st.summary()
			return sum, &BudgetError{Summary: sum}
		}
	}
	if err := clk.SleepUntil(ctx, end); err != nil {
		return st.summary(), fmt.Errorf("monitor: %s: %w", st.probe, err)
	}
	return st.summary(), nil
}

// check runs check n and records it, unless ctx ended meanwhile: a check
// cut short by the caller counts for nothing.
func (m Monitor) check(ctx context.Context, st *stats, n int, timeout time.Duration) (Tick, error) {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	obs := Observe(tctx, m.Probe)
	cancel()
	if err := ctx.Err(); err != nil {
		return Tick{}, err
	}
	return st.record(n, obs), nil
}

// stats accumulates a Monitor's checks.
type stats struct {
	clock     clock
	probe     string
	start     time.Time
	window    time.Duration
	maxErrors int
	latencies []time.Duration
	statuses  map[int]int
	errors    int
	lastErr   error
}

func (m Monitor) newStats(clk clock, window time.Duration) *stats {
	return &stats{clock: clk, probe: m.Probe.Name(), start: clk.Now(), window: window, maxErrors: m.MaxErrors, statuses: map[int]int{}}
}

// record counts check n.
func (s *stats) record(n int, obs Observation) Tick {
	s.latencies = append(s.latencies, obs.Latency)
	s.statuses[obs.Status]++
	if obs.Err != nil {
		s.errors++
		s.lastErr = obs.Err
	}
	return Tick{N: n, Observation: obs, Errors: s.errors}
}

func (s *stats) summary() Summary {
	sum := Summary{
		Probe: s.probe, Start: s.start, Elapsed: s.clock.Now().Sub(s.start), Window: s.window, MaxErrors: s.maxErrors,
		Checks: len(s.latencies), Errors: s.errors, Statuses: make(map[int]int, len(s.statuses)), LastError: s.lastErr,
	}
	for k, v := range s.statuses {
		sum.Statuses[k] = v
	}
	if len(s.latencies) > 0 {
		sorted := slices.Clone(s.latencies)
		slices.Sort(sorted)
		sum.P50, sum.P95, sum.P99 = percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99)
		sum.Max = sorted[len(sorted)-1]
	}
	return sum
}

// percentile is the nearest-rank percentile of sorted, non-empty data.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}
