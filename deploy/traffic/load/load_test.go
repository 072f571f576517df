package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsColoursStatusesAndRate(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.example" {
			t.Errorf("Host = %q, want app.example", r.Host)
		}
		w.Header().Set("X-Blueshift-Colour", "blue")
		if n.Add(1)%10 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusFound) // a redirect counts as success
	}))
	defer srv.Close()

	st, err := Run(context.Background(), Options{URL: srv.URL, Rate: 200, Duration: time.Second, Host: "app.example"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(st)
	if st.Sent < 180 || st.Sent > 220 {
		t.Errorf("sent %d requests in 1s at 200/s, want about 200", st.Sent)
	}
	if st.Failed != st.ByStatus[500] || st.Failed == 0 {
		t.Errorf("failed = %d, 500s = %d: want every 500 (and only those) counted as failed", st.Failed, st.ByStatus[500])
	}
	if st.ByStatus[302]+st.ByStatus[500] != st.Sent || st.ByColour["blue"] != st.Sent {
		t.Errorf("statuses %v, colours %v do not add up to %d", st.ByStatus, st.ByColour, st.Sent)
	}
	if len(st.Errors) != 1 || st.Errors[0] != "status 500" {
		t.Errorf("errors sample = %q, want [status 500]", st.Errors)
	}
	if st.FirstFailure.IsZero() || !st.LastFailure.After(st.FirstFailure) || st.Outage() <= 0 {
		t.Errorf("failure window %v..%v, outage %s: want a positive window", st.FirstFailure, st.LastFailure, st.Outage())
	}
	if st.P50 <= 0 || st.P99 < st.P50 || st.Max < st.P99 {
		t.Errorf("latencies p50=%s p99=%s max=%s not ordered", st.P50, st.P99, st.Max)
	}
}

func TestStartStopTransportErrorsAndInFlightCompletion(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("X-Blueshift-Colour", "green")
	}))
	defer srv.Close()
	var results atomic.Int64
	g, err := Start(context.Background(), Options{URL: srv.URL, Rate: 100, OnResult: func(Result) { results.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if s := g.Snapshot(); s.Sent != 0 {
		t.Errorf("snapshot counted %d requests still in flight", s.Sent)
	}
	close(release)
	st := g.Stop()
	if st.Failed != 0 || st.Sent < 15 || st.ByColour["green"] != st.Sent {
		t.Errorf("stats after stop: %v; want the in-flight requests completed, not failed", st)
	}
	if int(results.Load()) != st.Sent {
		t.Errorf("OnResult called %d times for %d requests", results.Load(), st.Sent)
	}
	if again := g.Stop(); again.Sent != st.Sent {
		t.Errorf("second Stop: sent %d, first %d", again.Sent, st.Sent)
	}

	// A closed server: every request fails with a transport error.
	srv.Close()
	st, err = Run(context.Background(), Options{URL: srv.URL, Rate: 100, Duration: 300 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed == 0 || st.Failed != st.Sent || st.ByStatus[0] != st.Sent || len(st.Errors) == 0 {
		t.Errorf("against a closed server: %v errors %q; want every request failed with a transport error", st, st.Errors)
	}
}

func TestOptionsErrors(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{{URL: "not a url"}, {URL: "http://x", Rate: -1}} {
		if _, err := Start(context.Background(), o); err == nil {
			t.Errorf("Start(%+v) succeeded, want an error", o)
		}
	}
}
