package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// DefaultColourHeader is the response header read for Stats.ByColour.
const DefaultColourHeader = "X-Blueshift-Colour"

// Options configures a load run.
type Options struct {
	// URL is requested with GET. Required.
	URL string
	// Rate is the number of requests started per second. Default 100.
	Rate int
	// Host, if set, is sent as the Host header.
	Host string
	// Timeout bounds each request. Default 5s.
	Timeout time.Duration
	// Client sends the requests. Default: a keep-alive client that does
	// not follow redirects (a 302 counts as success) and uses no proxy.
	// Timeout is applied per request on top of the client's own.
	Client *http.Client
	// ColourHeader is the response header counted in Stats.ByColour.
	// Default DefaultColourHeader.
	ColourHeader string
	// Duration stops Run after this long; zero runs until ctx is done.
	// Start ignores it (call Stop).
	Duration time.Duration
	// MaxInFlight caps concurrent requests; a request due while the cap is
	// reached is not sent and counts as failed. Default 1000.
	MaxInFlight int
	// OnResult, if set, is called with every result, concurrently from the
	// requests' goroutines.
	OnResult func(Result)
}

// Result is the outcome of one request.
type Result struct {
	Start   time.Time
	Latency time.Duration
	Status  int    // 0 when the request failed before a response
	Colour  string // the colour header's value
	Err     error  // transport error, or nil
}

// Failed reports whether r counts as a failure: a transport error or a
// status other than 2xx and 3xx.
func (r Result) Failed() bool { return r.Err != nil || r.Status < 200 || r.Status >= 400 }

// Stats summarises a run.
type Stats struct {
	// Sent counts requests started (including those not sent because
	// MaxInFlight was reached); Failed those that failed.
	Sent, Failed int
	// ByStatus counts responses by status code (0: no response).
	ByStatus map[int]int
	// ByColour counts responses by their colour header ("" when absent).
	ByColour map[string]int
	// Errors holds up to 10 distinct failure messages.
	Errors []string
	// P50, P99 and Max are latencies of completed requests.
	P50, P99, Max time.Duration
	// FirstFailure and LastFailure are the start times of the first and
	// last failed requests; zero without failures.
	FirstFailure, LastFailure time.Time
	// Started and Ended bound the run (Ended: the last request finished).
	Started, Ended time.Time
}

// Outage is the time between the start of the first and of the last failed
// request: zero without failures, and also zero for a single failure (check
// Failed for that).
func (s Stats) Outage() time.Duration {
	if s.Failed == 0 {
		return 0
	}
	return s.LastFailure.Sub(s.FirstFailure)
}

// AchievedRate is the rate requests were actually started at.
func (s Stats) AchievedRate() float64 {
	d := s.Ended.Sub(s.Started).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.Sent) / d
}

// String summarises s on one line.
func (s Stats) String() string {
	return fmt.Sprintf("sent=%d failed=%d rate=%.0f/s p50=%s p99=%s max=%s colours=%v statuses=%v outage=%s",
		s.Sent, s.Failed, s.AchievedRate(), s.P50, s.P99, s.Max, s.ByColour, s.ByStatus, s.Outage())
}

// Generator is a running load; create it with Start.
type Generator struct {
	opts     Options
	req      *http.Request
	stop     chan struct{}
	stopOnce sync.Once
	loopDone chan struct{}
	inflight sync.WaitGroup
	sem      chan struct{}

	mu        sync.Mutex
	st        Stats
	latencies []time.Duration
	seenErr   map[string]bool
	final     *Stats
}

// ErrOptions is wrapped by errors about invalid Options.
var ErrOptions = errors.New("load: invalid options")

// Start begins sending requests at opts.Rate until Stop is called or ctx is
// done. Requests in flight when it stops still complete (within
// opts.Timeout).
func Start(ctx context.Context, opts Options) (*Generator, error) {
	if opts.Rate == 0 {
		opts.Rate = 100
	}
	if opts.Rate < 0 {
		return nil, fmt.Errorf("%w: rate: %d: must be > 0", ErrOptions, opts.Rate)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.ColourHeader == "" {
		opts.ColourHeader = DefaultColourHeader
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1000
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			Transport: &http.Transport{
				Proxy:               nil,
				MaxIdleConns:        256,
				MaxIdleConnsPerHost: 256,
				IdleConnTimeout:     30 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	req, err := http.NewRequest(http.MethodGet, opts.URL, nil)
	if err != nil || req.URL.Host == "" {
		return nil, fmt.Errorf("%w: url: %q: want an absolute http(s) URL", ErrOptions, opts.URL)
	}
	if opts.Host != "" {
		req.Host = opts.Host
	}
	g := &Generator{
		opts:     opts,
		req:      req,
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
		sem:      make(chan struct{}, opts.MaxInFlight),
		seenErr:  map[string]bool{},
		st: Stats{
			ByStatus: map[int]int{},
			ByColour: map[string]int{},
			Started:  time.Now(),
		},
	}
	go g.loop(ctx)
	return g, nil
}

// Run sends requests at opts.Rate for opts.Duration (or until ctx is done)
// and returns the stats once every request has finished. Its error is about
// invalid options only; failed requests are counted in Stats.
func Run(ctx context.Context, opts Options) (Stats, error) {
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	g, err := Start(ctx, opts)
	if err != nil {
		return Stats{}, err
	}
	<-g.loopDone
	return g.Stop(), nil
}

func (g *Generator) loop(ctx context.Context) {
	defer close(g.loopDone)
	interval := time.Second / time.Duration(g.opts.Rate)
	start := g.st.Started
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	// Requests run on their own context so that stopping the generator
	// lets in-flight requests finish instead of counting them as failed.
	reqCtx := context.WithoutCancel(ctx)
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-g.stop:
				return
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-g.stop:
				return
			case <-ctx.Done():
				return
			default:
			}
		}
		select {
		case g.sem <- struct{}{}:
			g.inflight.Add(1)
			go g.send(reqCtx)
		default:
			g.record(Result{Start: time.Now(), Err: fmt.Errorf("not sent: %d requests already in flight", g.opts.MaxInFlight)}, false)
		}
	}
}

func (g *Generator) send(ctx context.Context) {
	defer g.inflight.Done()
	defer func() { <-g.sem }()
	ctx, cancel := context.WithTimeout(ctx, g.opts.Timeout)
	defer cancel()
	start := time.Now()
	res := Result{Start: start}
	resp, err := g.opts.Client.Do(g.req.Clone(ctx))
	if err != nil {
		res.Err = err
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.Status = resp.StatusCode
		res.Colour = resp.Header.Get(g.opts.ColourHeader)
		if err != nil {
			res.Err = fmt.Errorf("read body: %w", err)
		}
	}
	res.Latency = time.Since(start)
	g.record(res, true)
}

func (g *Generator) record(res Result, completed bool) {
	if g.opts.OnResult != nil {
		g.opts.OnResult(res)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st.Sent++
	g.st.ByStatus[res.Status]++
	if res.Status != 0 {
		g.st.ByColour[res.Colour]++
	}
	if completed {
		g.latencies = append(g.latencies, res.Latency)
	}
	if res.Failed() {
		g.st.Failed++
		if g.st.FirstFailure.IsZero() || res.Start.Before(g.st.FirstFailure) {
			g.st.FirstFailure = res.Start
		}
		if res.Start.After(g.st.LastFailure) {
			g.st.LastFailure = res.Start
		}
		msg := fmt.Sprintf("status %d", res.Status)
		if res.Err != nil {
			msg = res.Err.Error()
		}
		if !g.seenErr[msg] && len(g.st.Errors) < 10 {
			g.seenErr[msg] = true
			g.st.Errors = append(g.st.Errors, msg)
		}
	}
}

// Snapshot returns the stats so far; the generator keeps running.
func (g *Generator) Snapshot() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.snapshotLocked(time.Now())
}

func (g *Generator) snapshotLocked(end time.Time) Stats {
	s := g.st
	s.ByStatus = maps(g.st.ByStatus)
	s.ByColour = maps(g.st.ByColour)
	s.Errors = slices.Clone(g.st.Errors)
	s.Ended = end
	if n := len(g.latencies); n > 0 {
		l := slices.Clone(g.latencies)
		slices.Sort(l)
		s.P50 = l[(n-1)*50/100]
		s.P99 = l[(n-1)*99/100]
		s.Max = l[n-1]
	}
	return s
}

func maps[K comparable](m map[K]int) map[K]int {
	out := make(map[K]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Stop stops sending, waits for the requests in flight and returns the
// final stats. Calling it again returns the same stats.
func (g *Generator) Stop() Stats {
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.loopDone
	g.inflight.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.final == nil {
		s := g.snapshotLocked(time.Now())
		g.final = &s
	}
	return *g.final
}
