package health_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/health"
)

// appServer is a small stand-in for the seed's application.
func appServer() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/health/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok","checks":{"database":{"ok":true,"latency_ms":3}},"items":[{"name":"first"}],"none":null}`)
	})
	mux.HandleFunc("/broken/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Traceback: database is down", http.StatusInternalServerError)
	})
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login/", http.StatusFound)
	})
	mux.HandleFunc("/host/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s x-probe=%s method=%s", r.Host, r.Header.Get("X-Probe"), r.Method)
	})
	mux.HandleFunc("/slow/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/reset/", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/text/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>welcome to the bot</html>")
	})
	return mux
}

func newApp(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(appServer())
	t.Cleanup(srv.Close)
	return srv
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func probeErr(t *testing.T, err error) *health.ProbeError {
	t.Helper()
	var pe *health.ProbeError
	require.ErrorAs(t, err, &pe)
	return pe
}

func TestHTTPProbeStatus(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	ctx := context.Background()

	ok := &health.HTTPProbe{URL: srv.URL + "/api/health/"}
	obs := ok.Observe(ctx)
	require.NoError(t, obs.Err)
	assert.Equal(t, 200, obs.Status)
	assert.Equal(t, "200 OK", obs.Detail)
	assert.Positive(t, obs.Latency)
	assert.Equal(t, "GET "+srv.URL+"/api/health/", ok.Name())

	broken := &health.HTTPProbe{URL: srv.URL + "/broken/"}
	obs = broken.Observe(ctx)
	pe := probeErr(t, obs.Err)
	assert.Equal(t, 500, obs.Status)
	assert.Equal(t, 500, pe.Status)
	assert.Equal(t, "GET "+srv.URL+"/broken/: status 500 Internal Server Error, want 200: body: Traceback: database is down", obs.Err.Error())
	assert.NotErrorIs(t, obs.Err, health.ErrPermanent)

	// Redirects are seen, not followed.
	admin := &health.HTTPProbe{URL: srv.URL + "/admin/"}
	err := admin.Check(ctx)
	assert.ErrorContains(t, err, "status 302 Found, want 200")
	admin.Expect = []int{200, 302}
	assert.NoError(t, admin.Check(ctx))

	head := &health.HTTPProbe{Method: http.MethodHead, URL: srv.URL + "/host/"}
	assert.NoError(t, head.Check(ctx))
}

func TestHTTPProbeHostAndHeaders(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	p := &health.HTTPProbe{
		URL:          srv.URL + "/host/",
		Host:         "the-bot.ru",
		Header:       http.Header{"X-Probe": {"blueshift"}},
		Method:       http.MethodPost,
		BodyContains: "host=the-bot.ru x-probe=blueshift method=POST",
	}
	require.NoError(t, p.Check(context.Background()))
	assert.Equal(t, "POST "+srv.URL+"/host/ (Host: the-bot.ru)", p.Name())
}

func TestHTTPProbeBody(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	ctx := context.Background()
	cases := []struct {
		name        string
		path        string
		contains    string
		field, want string
		err         string // empty: passes
	}{
		{name: "contains", path: "/text/", contains: "welcome"},
		{name: "lacks", path: "/text/", contains: "goodbye", err: `status 200 but the body lacks "goodbye": body: <html>welcome to the bot</html>`},
		{name: "json string", path: "/api/health/", field: "status", want: "ok"},
		{name: "json nested bool", path: "/api/health/", field: "checks.database.ok", want: "true"},
		{name: "json number", path: "/api/health/", field: "checks.database.latency_ms", want: "3"},
		{name: "json array", path: "/api/health/", field: "items.0.name", want: "first"},
		{name: "json null", path: "/api/health/", field: "none", want: "null"},
		{name: "json object", path: "/api/health/", field: "checks.database", want: `{"latency_ms":3,"ok":true}`},
		{name: "json mismatch", path: "/api/health/", field: "status", want: "degraded", err: `status 200 but JSON status is "ok", want "degraded"`},
		{name: "json missing", path: "/api/health/", field: "checks.cache.ok", want: "true", err: "status 200 but JSON has no field checks.cache"},
		{name: "json bad index", path: "/api/health/", field: "items.3", want: "x", err: `status 200 but JSON items.3: no element "3" in an array of 1`},
		{name: "not json", path: "/text/", field: "status", want: "ok", err: "status 200 but the body is not JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &health.HTTPProbe{URL: srv.URL + c.path, BodyContains: c.contains, JSONField: c.field, JSONValue: c.want}
			err := p.Check(ctx)
			if c.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, c.err)
			assert.Equal(t, 200, probeErr(t, err).Status)
		})
	}
}

func TestHTTPProbeTransportFailures(t *testing.T) {
	t.Parallel()
	srv := newApp(t)

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		p := &health.HTTPProbe{URL: srv.URL + "/slow/"}
		start := time.Now()
		obs := p.Observe(ctx)
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.ErrorIs(t, obs.Err, context.DeadlineExceeded)
		assert.Equal(t, "request: no answer within the check's timeout", probeErr(t, obs.Err).Reason)
		assert.Zero(t, obs.Status)
	})
	t.Run("reset", func(t *testing.T) {
		t.Parallel()
		p := &health.HTTPProbe{URL: srv.URL + "/reset/"}
		err := p.Check(context.Background())
		assert.ErrorIs(t, err, io.EOF)
		assert.Equal(t, "request: connection closed before an answer", probeErr(t, err).Reason)
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		p := &health.HTTPProbe{URL: "http://" + closedAddr(t) + "/"}
		err := p.Check(context.Background())
		assert.Equal(t, "request: connection refused (is the service listening?)", probeErr(t, err).Reason)
		assert.NotErrorIs(t, err, health.ErrPermanent)
	})
	t.Run("invalid url", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"", "ftp://x/", "/api/health/", "http://user:hunter2@%zz/"} {
			p := &health.HTTPProbe{URL: u}
			err := p.Check(context.Background())
			assert.ErrorIs(t, err, health.ErrPermanent, u)
			assert.NotContains(t, err.Error(), "hunter2")
		}
	})
	t.Run("password in url is not shown", func(t *testing.T) {
		t.Parallel()
		p := &health.HTTPProbe{URL: "http://admin:hunter2@" + closedAddr(t) + "/"}
		err := p.Check(context.Background())
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
		assert.NotContains(t, p.Name(), "hunter2")
	})
}

func TestHTTPProbeTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(appServer())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point here
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	// Verification is on by default: the test server's CA is unknown.
	p := &health.HTTPProbe{URL: srv.URL + "/api/health/"}
	err := p.Check(ctx)
	var unknown x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &unknown)
	assert.Contains(t, probeErr(t, err).Reason, "TLS certificate signed by an unknown authority (give the probe RootCAs")

	p.RootCAs = pool
	assert.NoError(t, p.Check(ctx))

	// Host sets the name the certificate is checked against.
	p.Host = "the-bot.ru"
	err = p.Check(ctx)
	var hostname x509.HostnameError
	assert.ErrorAs(t, err, &hostname)
	assert.Contains(t, err.Error(), "not valid for this name")
	p.ServerName = "example.com" // in the test certificate
	assert.NoError(t, p.Check(ctx))

	insecure := &health.HTTPProbe{URL: srv.URL + "/api/health/", InsecureSkipVerify: true}
	assert.NoError(t, insecure.Check(ctx))
}

func TestTCPProbe(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	ctx := context.Background()
	p := &health.TCPProbe{Addr: srv.Listener.Addr().String()}
	obs := p.Observe(ctx)
	require.NoError(t, obs.Err)
	assert.Equal(t, "connected", obs.Detail)
	assert.Equal(t, "tcp "+srv.Listener.Addr().String(), p.Name())

	down := &health.TCPProbe{Addr: closedAddr(t)}
	err := down.Check(ctx)
	assert.Contains(t, err.Error(), "connection refused (is the service listening?)")

	assert.ErrorIs(t, (&health.TCPProbe{}).Check(ctx), health.ErrPermanent)
}

// checkOnly is a Probe without Observe.
type checkOnly struct{ err error }

func (checkOnly) Name() string                      { return "check-only" }
func (c checkOnly) Check(ctx context.Context) error { return c.err }

func TestObserveWithoutObserver(t *testing.T) {
	t.Parallel()
	obs := health.Observe(context.Background(), checkOnly{})
	assert.NoError(t, obs.Err)
	assert.False(t, obs.Start.IsZero())

	pe := &health.ProbeError{Probe: "x", Status: 503, Reason: "busy"}
	obs = health.Observe(context.Background(), checkOnly{err: fmt.Errorf("wrapped: %w", pe)})
	assert.Equal(t, 503, obs.Status)
	assert.True(t, errors.Is(obs.Err, pe))
}
