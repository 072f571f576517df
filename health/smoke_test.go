package health_test

import (
	"context"
	"crypto/x509"
	"io"
	"log"
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

// seedApp answers the seed's smoke endpoints; broken maps paths to the
// status they answer instead. Requests for another Host get 421.
func seedApp(wantHost string, broken map[string]int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantHost != "" && r.Host != wantHost {
			w.WriteHeader(http.StatusMisdirectedRequest)
			return
		}
		if code, ok := broken[r.URL.Path]; ok {
			w.WriteHeader(code)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, "/v2") {
		case "/api/health/", "/api/system/readiness/", "/":
			io.WriteString(w, "ok")
		case "/api/v1/auth/status/":
			w.WriteHeader(http.StatusUnauthorized)
		case "/admin/":
			http.Redirect(w, r, "/admin/login/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestSuiteDefaultEndpointsPass(t *testing.T) {
	t.Parallel()
	// A colour's own port, addressed with the public Host header.
	colour := httptest.NewServer(seedApp("the-bot.ru", nil))
	t.Cleanup(colour.Close)
	s := health.Suite{BaseURL: colour.URL, Host: "the-bot.ru", Endpoints: health.DefaultEndpoints()}
	rep, err := s.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Results, 5)
	var statuses []int
	for _, r := range rep.Results {
		statuses = append(statuses, r.Status)
		assert.Equal(t, health.Pass, r.Verdict)
		assert.Empty(t, r.Reason)
	}
	assert.Equal(t, []int{200, 200, 401, 302, 200}, statuses)

	lines := strings.Split(strings.TrimSpace(rep.Table()), "\n")
	require.Len(t, lines, 7)
	assert.Equal(t, []string{"ENDPOINT", "EXPECT", "STATUS", "LATENCY", "RESULT", "REASON"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"GET", "/api/v1/auth/status/", "200", "or", "401", "401"}, strings.Fields(lines[3])[:6])
	assert.Equal(t, "pass", strings.Fields(lines[3])[7])
	assert.True(t, strings.HasPrefix(lines[6], "5 endpoint(s), 0 failed, "), lines[6])

	// Without the Host header the same port is the wrong site.
	s.Host = ""
	_, err = s.Run(context.Background())
	assert.ErrorIs(t, err, health.ErrSmokeFailed)
}

func TestSuitePublicURLOverTLS(t *testing.T) {
	t.Parallel()
	public := httptest.NewUnstartedServer(seedApp("", nil))
	public.Config.ErrorLog = log.New(io.Discard, "", 0)
	public.StartTLS()
	t.Cleanup(public.Close)
	pool := x509.NewCertPool()
	pool.AddCert(public.Certificate())

	s := health.Suite{BaseURL: public.URL + "/v2/", Endpoints: health.DefaultEndpoints(), RootCAs: pool}
	rep, err := s.Run(context.Background())
	require.NoError(t, err, rep.Table())
	assert.True(t, strings.HasSuffix(rep.Results[0].URL, "/v2/api/health/"), rep.Results[0].URL)

	s.RootCAs = nil // verification stays on
	_, err = s.Run(context.Background())
	assert.ErrorContains(t, err, "TLS certificate signed by an unknown authority")
}

func TestSuiteFailures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(seedApp("", map[string]int{
		"/api/system/readiness/": http.StatusServiceUnavailable,
		"/":                      http.StatusNotFound,
	}))
	t.Cleanup(srv.Close)
	eps := health.DefaultEndpoints()
	eps[1].Expect = []int{200, 503} // a 5xx fails whatever Expect says
	rep, err := health.Suite{BaseURL: srv.URL, Endpoints: eps}.Run(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, health.ErrSmokeFailed)
	var se *health.SmokeError
	require.ErrorAs(t, err, &se)
	failed := rep.Failed()
	require.Len(t, failed, 2)
	assert.Equal(t, "server error 503 Service Unavailable", failed[0].Reason)
	assert.Equal(t, "status 404 Not Found, want 200", failed[1].Reason)
	assert.Equal(t, "smoke: 2 of 5 endpoints failed: /api/system/readiness/ (server error 503 Service Unavailable); / (status 404 Not Found, want 200)", err.Error())
	assert.Contains(t, rep.Table(), "5 endpoint(s), 2 failed")
}

func TestSuiteConnectionErrors(t *testing.T) {
	t.Parallel()
	rep, err := health.Suite{BaseURL: "http://" + closedAddr(t), Endpoints: health.DefaultEndpoints()[:2]}.Run(context.Background())
	assert.ErrorIs(t, err, health.ErrSmokeFailed)
	for _, r := range rep.Results {
		assert.Equal(t, health.Fail, r.Verdict)
		assert.Zero(t, r.Status)
		assert.Contains(t, r.Reason, "request: connection refused (is the service listening?)")
	}
}

func TestSuiteConcurrencyBound(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		mu.Lock()
		if n > peak.Load() {
			peak.Store(n)
		}
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		inFlight.Add(-1)
	}))
	t.Cleanup(srv.Close)
	eps := make([]health.Endpoint, 10)
	for i := range eps {
		eps[i] = health.Endpoint{Path: "/" + string(rune('a'+i))}
	}
	start := time.Now()
	rep, err := health.Suite{BaseURL: srv.URL, Endpoints: eps, Concurrency: 3}.Run(context.Background())
	require.NoError(t, err)
	assert.Len(t, rep.Results, 10)
	assert.LessOrEqual(t, peak.Load(), int32(3))
	assert.GreaterOrEqual(t, peak.Load(), int32(2))
	assert.GreaterOrEqual(t, time.Since(start), 4*30*time.Millisecond) // ceil(10/3) rounds
}

func TestSuiteTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	s := health.Suite{BaseURL: srv.URL, Endpoints: []health.Endpoint{{Path: "/slow/"}, {Path: "/api/health/"}}, Timeout: time.Second}
	start := time.Now()
	rep, err := s.Run(context.Background())
	assert.Less(t, time.Since(start), 4*time.Second, "cut off long before /slow/ answers (5s)")
	assert.ErrorIs(t, err, health.ErrSmokeFailed)
	assert.Equal(t, "request: no answer within the check's timeout", rep.Results[0].Reason[:len("request: no answer within the check's timeout")])
	assert.Equal(t, health.Pass, rep.Results[1].Verdict)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	s.Timeout = 0
	_, err = s.Run(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, health.ErrSmokeFailed)
}

func TestSuiteConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := health.Suite{BaseURL: "http://x"}.Run(context.Background())
	assert.EqualError(t, err, "smoke: no endpoints (use health.DefaultEndpoints() for the seed's)")
	_, err = health.Suite{BaseURL: "the-bot.ru", Endpoints: health.DefaultEndpoints()}.Run(context.Background())
	assert.EqualError(t, err, `smoke: base URL "the-bot.ru": want an absolute http:// or https:// URL`)
}

// TestSuiteEndpointOwnBaseHeadersAndBody: an endpoint can go to another
// service's port, send its own headers (a Host among them) over the
// suite's, and check the body's text or JSON fields.
func TestSuiteEndpointOwnBaseHeadersAndBody(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Forwarded-Proto") != "https" {
			http.Redirect(w, r, "https://example.com"+r.URL.Path, http.StatusMovedPermanently)
			return
		}
		io.WriteString(w, `{"status":"ok","checks":{"database":"ok","redis":"error"}}`)
	}))
	defer backend.Close()
	frontend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<title>TheBot on "+r.Host+"</title>")
	}))
	defer frontend.Close()
	suite := health.Suite{BaseURL: backend.URL, Host: "the-bot.ru", Header: http.Header{"X-Forwarded-Proto": {"https"}}, Endpoints: []health.Endpoint{
		{Path: "/api/health/", JSON: map[string]string{"status": "ok", "checks.database": "ok"}},
		{Path: "/", BaseURL: frontend.URL, BodyContains: "TheBot on www.the-bot.ru", Header: http.Header{"Host": {"www.the-bot.ru"}}},
	}}
	rep, err := suite.Run(context.Background())
	require.NoError(t, err, rep.Table())
	assert.Equal(t, frontend.URL+"/", rep.Results[1].URL)

	suite.Endpoints[0].JSON["checks.redis"] = "ok"
	suite.Endpoints = append(suite.Endpoints, health.Endpoint{Path: "/plain/", Header: http.Header{"X-Forwarded-Proto": {"http"}}})
	rep, err = suite.Run(context.Background())
	require.ErrorIs(t, err, health.ErrSmokeFailed)
	assert.Contains(t, rep.Results[0].Reason, `JSON checks.redis is "error", want "ok"`)
	assert.Equal(t, health.Pass, rep.Results[1].Verdict)
	assert.Contains(t, rep.Results[2].Reason, "status 301", "the endpoint's own header replaces the suite's")
}
