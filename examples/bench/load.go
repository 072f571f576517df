package bench

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/traffic/load"
)

// window is one run of a scenario.
type window struct{ from, to time.Time }

// Outages returns, per window, the time between the first and the last
// failed request started inside it (zero without failures).
func Outages(failures []time.Time, windows []window) []time.Duration {
	out := make([]time.Duration, len(windows))
	for i, w := range windows {
		var first, last time.Time
		for _, f := range failures {
			if f.Before(w.from) || !f.Before(w.to) {
				continue
			}
			if first.IsZero() || f.Before(first) {
				first = f
			}
			if f.After(last) {
				last = f
			}
		}
		if !first.IsZero() {
			out[i] = last.Sub(first)
		}
	}
	return out
}

// underLoad sends rate requests per second to url while run is called for
// each of runs runs, and returns the load's row: totals over all runs and
// the median of each run's outage.
func underLoad(ctx context.Context, url string, rate int, name string, runs int, run func(ctx context.Context, i int) error) (LoadRow, error) {
	var mu sync.Mutex
	var failures []time.Time
	g, err := load.Start(ctx, load.Options{URL: url, Rate: rate, Timeout: 10 * time.Second, OnResult: func(r load.Result) {
		if r.Failed() {
			mu.Lock()
			failures = append(failures, r.Start)
			mu.Unlock()
		}
	}})
	if err != nil {
		return LoadRow{}, err
	}
	var windows []window
	var runErr error
	for i := 0; i < runs && runErr == nil; i++ {
		w := window{from: time.Now()}
		runErr = run(ctx, i)
		w.to = time.Now()
		windows = append(windows, w)
	}
	s := g.Stop()
	if len(windows) > 0 {
		windows[len(windows)-1].to = s.Ended.Add(time.Nanosecond)
		windows[0].from = s.Started
	}
	mu.Lock()
	outages := Outages(failures, windows)
	mu.Unlock()
	return loadRow(name, len(windows), s, Median(outages)), runErr
}

// loadRow is the row of scenario name: runs runs whose load s had outage.
func loadRow(name string, runs int, s load.Stats, outage time.Duration) LoadRow {
	return LoadRow{Scenario: name, Runs: runs, Sent: s.Sent, Failed: s.Failed, Rate: s.AchievedRate(),
		P50: s.P50, P99: s.P99, Outage: outage, Errors: s.Errors}
}

// poller asks the proxy which version answers, as fast as it answers,
// until stopped.
type poller struct {
	mu      sync.Mutex
	samples []Sample
	stop    chan struct{}
	done    chan struct{}
}

func startPoller(ctx context.Context, base string) *poller {
	p := &poller{stop: make(chan struct{}), done: make(chan struct{})}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-ctx.Done():
				return
			default:
			}
			at := time.Now()
			v, ok := getVersion(ctx, c, base)
			p.mu.Lock()
			p.samples = append(p.samples, Sample{At: at, Version: v, OK: ok})
			p.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return p
}

// streakK is how many answers in a row from the old version count as "it
// answers every request".
const streakK = 50

// halt stops the poller.
func (p *poller) halt() { close(p.stop); <-p.done }

// waitStreak waits until the last streakK answers came from want (at most
// limit), stops the poller and returns when that final streak began.
func (p *poller) waitStreak(want string, limit time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(limit)
	defer p.halt()
	for time.Now().Before(deadline) {
		p.mu.Lock()
		at, ok := FinalStreak(p.samples, want, streakK)
		p.mu.Unlock()
		if ok {
			return at, true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Time{}, false
}
