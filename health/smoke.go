package health

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Endpoint is one smoke check: a path and the statuses that count as
// healthy. Any 5xx fails whatever Expect says.
type Endpoint struct {
	// Path is joined to the suite's BaseURL ("/api/health/").
	Path string
	// Method defaults to GET.
	Method string
	// Expect lists the acceptable statuses; default 200.
	Expect []int
	// BaseURL, when set, replaces the suite's BaseURL for this endpoint
	// (an endpoint served by another service's port).
	BaseURL string
	// Header holds request headers for this endpoint, added over the
	// suite's Header; a "Host" entry replaces the suite's Host.
	Header http.Header
	// BodyContains and JSON are as in HTTPProbe.
	BodyContains string
	JSON         map[string]string
}

// DefaultEndpoints are the seed pipeline's smoke checks.
func DefaultEndpoints() []Endpoint {
	return []Endpoint{
		{Path: "/api/health/", Expect: []int{200}},
		{Path: "/api/system/readiness/", Expect: []int{200}},
		{Path: "/api/v1/auth/status/", Expect: []int{200, 401}},
		{Path: "/admin/", Expect: []int{200, 302}},
		{Path: "/", Expect: []int{200}},
	}
}

// Suite is a set of smoke checks against one site: a colour's own port
// (BaseURL "http://127.0.0.1:8002" with Host "the-bot.ru") or the public URL
// (BaseURL "https://the-bot.ru").
type Suite struct {
	// BaseURL is the scheme, host and optional path prefix the endpoint
	// paths are joined to.
	BaseURL string
	// Host, when set, is sent as the Host header (and used as TLS server name).
	Host string
	// Header holds extra request headers for every endpoint.
	Header http.Header
	// Endpoints are the checks; see DefaultEndpoints.
	Endpoints []Endpoint
	// Concurrency bounds the requests in flight; zero means 4.
	Concurrency int
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration

	// Dialer, RootCAs, InsecureSkipVerify and ServerName are as in HTTPProbe.
	Dialer             host.Dialer
	RootCAs            *x509.CertPool
	InsecureSkipVerify bool
	ServerName         string
}

// SmokeResult is how one endpoint did.
type SmokeResult struct {
	Endpoint Endpoint
	URL      string
	Status   int
	Latency  time.Duration
	Verdict  Verdict // Pass or Fail
	// Reason says why it failed; empty when it passed.
	Reason string
	// Err is the probe's error, if any.
	Err error
}

// SmokeReport is the outcome of a suite run, results in endpoint order.
type SmokeReport struct {
	Results []SmokeResult
	Elapsed time.Duration
}

// Failed returns the results that did not pass.
func (r SmokeReport) Failed() []SmokeResult {
	var out []SmokeResult
	for _, res := range r.Results {
		if res.Verdict != Pass {
			out = append(out, res)
		}
	}
	return out
}

// WriteTable writes one line per endpoint: path, status, latency, verdict
// and reason.
func (r SmokeReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tEXPECT\tSTATUS\tLATENCY\tRESULT\tREASON")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\t%s\n", res.Endpoint.method(), res.Endpoint.Path,
			joinInts(res.Endpoint.expect()), statusCell(res.Status), roundDur(res.Latency), res.Verdict, res.Reason)
	}
	fmt.Fprintf(tw, "%d endpoint(s), %d failed, %s\n", len(r.Results), len(r.Failed()), roundDur(r.Elapsed))
	return tw.Flush()
}

// Table is WriteTable into a string.
func (r SmokeReport) Table() string { return tableString(r.WriteTable) }

// ErrSmokeFailed is matched (errors.Is) by the error Suite.Run returns when
// an endpoint failed.
var ErrSmokeFailed = errors.New("smoke checks failed")

// SmokeError lists the endpoints that failed.
type SmokeError struct {
	Report SmokeReport
}

func (e *SmokeError) Error() string {
	failed := e.Report.Failed()
	parts := make([]string, len(failed))
	for i, f := range failed {
		parts[i] = f.Endpoint.Path + " (" + f.Reason + ")"
	}
	return fmt.Sprintf("smoke: %d of %d endpoints failed: %s", len(failed), len(e.Report.Results), strings.Join(parts, "; "))
}

// Unwrap returns ErrSmokeFailed.
func (e *SmokeError) Unwrap() error { return ErrSmokeFailed }

func (e Endpoint) method() string {
	if e.Method == "" {
		return http.MethodGet
	}
	return e.Method
}

func (e Endpoint) expect() []int {
	if len(e.Expect) == 0 {
		return []int{http.StatusOK}
	}
	return e.Expect
}

// Probe returns the HTTP probe that checks endpoint e of the suite.
func (s Suite) Probe(e Endpoint) (*HTTPProbe, error) {
	base := s.BaseURL
	if e.BaseURL != "" {
		base = e.BaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("smoke: base URL %q: want an absolute http:// or https:// URL", redactURL(base))
	}
	path := e.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	ref, err := url.Parse(strings.TrimSuffix(u.Path, "/") + path)
	if err != nil {
		return nil, fmt.Errorf("smoke: endpoint %q: %w", e.Path, err)
	}
	full := *u
	full.Path, full.RawPath, full.RawQuery = ref.Path, ref.RawPath, ref.RawQuery
	header, hostHeader := s.Header, s.Host
	if len(e.Header) > 0 {
		header = s.Header.Clone()
		if header == nil {
			header = http.Header{}
		}
		for k, vs := range e.Header {
			header[http.CanonicalHeaderKey(k)] = vs
		}
		if h := header.Get("Host"); h != "" {
			hostHeader = h
			header.Del("Host")
		}
	}
	return &HTTPProbe{
		Method: e.method(), URL: full.String(), Host: hostHeader, Header: header, Expect: e.expect(),
		BodyContains: e.BodyContains, JSON: e.JSON,
		Dialer: s.Dialer, RootCAs: s.RootCAs, InsecureSkipVerify: s.InsecureSkipVerify, ServerName: s.ServerName,
	}, nil
}

// Run checks every endpoint, at most Concurrency at a time, and returns
// their results. The error is a *SmokeError (matching ErrSmokeFailed) when
// any endpoint failed, or the context's error when ctx ended first.
func (s Suite) Run(ctx context.Context) (SmokeReport, error) {
	start := time.Now()
	if len(s.Endpoints) == 0 {
		return SmokeReport{}, errors.New("smoke: no endpoints (use health.DefaultEndpoints() for the seed's)")
	}
	probes := make([]*HTTPProbe, len(s.Endpoints))
	for i, e := range s.Endpoints {
		p, err := s.Probe(e)
		if err != nil {
			return SmokeReport{}, err
		}
		probes[i] = p
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = 4
	}
	results := make([]SmokeResult, len(s.Endpoints))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := range probes {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = SmokeResult{Endpoint: s.Endpoints[i], URL: probes[i].URL, Verdict: Fail, Reason: "not run: " + ctx.Err().Error(), Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = smokeResult(s.Endpoints[i], probes[i], probes[i].Observe(rctx))
		})
	}
	wg.Wait()
	rep := SmokeReport{Results: results, Elapsed: time.Since(start)}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("smoke: %w", err)
	}
	if len(rep.Failed()) > 0 {
		return rep, &SmokeError{Report: rep}
	}
	return rep, nil
}

func smokeResult(e Endpoint, p *HTTPProbe, obs Observation) SmokeResult {
	res := SmokeResult{Endpoint: e, URL: p.URL, Status: obs.Status, Latency: obs.Latency, Verdict: Pass, Err: obs.Err}
	switch {
	case obs.Status >= 500:
		res.Verdict, res.Reason = Fail, "server error "+statusText(obs.Status)
	case obs.Err != nil:
		res.Verdict, res.Reason = Fail, seen(obs.Err)
	}
	return res
}
