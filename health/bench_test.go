package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMonitorCheck is the cost of one monitor check of an HTTP health
// endpoint on a local server (a fresh connection per check; the server's
// side runs in the same process and is included).
func BenchmarkMonitorCheck(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	m := Monitor{Probe: &HTTPProbe{URL: srv.URL + "/api/health/"}}
	st := m.newStats(realClock{}, time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		tick, err := m.check(ctx, st, n, DefaultTimeout)
		if err != nil || tick.Err != nil {
			b.Fatal(err, tick.Err)
		}
	}
}

// BenchmarkSmokeSuite runs 20 endpoints that each take 50ms with a
// concurrency of 20: the wall time is about the slowest request, not the
// sum of them.
func BenchmarkSmokeSuite(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer srv.Close()
	eps := make([]Endpoint, 20)
	for i := range eps {
		eps[i] = Endpoint{Path: "/ep/" + strconv.Itoa(i) + "/"}
	}
	s := Suite{BaseURL: srv.URL, Endpoints: eps, Concurrency: 20}
	var wall, sum, slowest time.Duration
	runs := 0
	for b.Loop() {
		rep, err := s.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		runs++
		wall += rep.Elapsed
		for _, r := range rep.Results {
			sum += r.Latency
			slowest = max(slowest, r.Latency)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(runs) }
	b.ReportMetric(ms(wall), "wall-ms/run")
	b.ReportMetric(ms(sum), "sum-latency-ms/run")
	b.ReportMetric(float64(slowest)/float64(time.Millisecond), "slowest-ms")
}
