package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/health"
)

// Wait for the next colour's backend, on its own port, with the seed's
// backend policy (scaled down here so the example runs fast).
func ExampleWait() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer srv.Close()

	probe := &health.HTTPProbe{
		URL:       srv.URL + "/api/health/",
		Host:      "the-bot.ru",
		JSONField: "status", JSONValue: "ok",
	}
	policy := health.BackendPolicy()
	policy.Interval = 10 * time.Millisecond
	rep, err := health.Wait(context.Background(), probe, policy, func(a health.Attempt) {
		// A frontend would print progress here.
	})
	if err != nil {
		var we *health.WaitError
		if errors.As(err, &we) {
			fmt.Println(we.Summary())
		}
		return
	}
	fmt.Printf("healthy: %v after %d attempt(s), status %d\n", rep.Healthy, len(rep.Attempts), rep.Attempts[0].Status)
	// Output: healthy: true after 1 attempt(s), status 200
}

// Smoke-test a colour before traffic moves to it. Any 5xx fails.
func ExampleSuite_Run() {
	srv := httptest.NewServer(seedApp("the-bot.ru", map[string]int{"/admin/": http.StatusBadGateway}))
	defer srv.Close()

	suite := health.Suite{BaseURL: srv.URL, Host: "the-bot.ru", Endpoints: health.DefaultEndpoints(), Concurrency: 5}
	rep, err := suite.Run(context.Background())
	for _, r := range rep.Results {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %d %s %s", r.Endpoint.Path, r.Status, r.Verdict, r.Reason)))
	}
	// A frontend prints the whole table: rep.WriteTable(os.Stdout).
	fmt.Println(errors.Is(err, health.ErrSmokeFailed))
	// Output:
	// /api/health/ 200 pass
	// /api/system/readiness/ 200 pass
	// /api/v1/auth/status/ 401 pass
	// /admin/ 502 fail server error 502 Bad Gateway
	// / 200 pass
	// true
}

// Watch the public URL after the switch; more than MaxErrors failed checks
// in the window stop the monitor at once.
func ExampleMonitor_Run() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()

	m := health.Monitor{
		Probe:     &health.HTTPProbe{URL: srv.URL + "/api/health/"},
		Window:    100 * time.Millisecond, // the seed watches DefaultMonitorWindow (5m)
		Interval:  20 * time.Millisecond,  // and checks every DefaultMonitorInterval (10s)
		Timeout:   2 * time.Second,        // each check; zero means Interval
		MaxErrors: health.DefaultMaxErrors,
	}
	sum, err := m.Run(context.Background())
	if errors.Is(err, health.ErrBudgetExceeded) {
		fmt.Println("roll back:", err)
		return
	}
	// A frontend prints the summary: sum.WriteTable(os.Stdout).
	fmt.Printf("errors %d, every check 200: %v\n", sum.Errors, sum.Statuses[200] == sum.Checks)
	// Output: errors 0, every check 200: true
}

// Check PostgreSQL and Redis the way the seed did with
// `docker-compose exec`, but directly (give the probes a host's Dialer to
// reach them on a server over SSH).
func ExamplePostgresProbe() {
	probes := []health.Probe{
		&health.PostgresProbe{URL: "postgres://app:secret@127.0.0.1:5432/app?sslmode=disable"},
		&health.RedisProbe{Addr: "127.0.0.1:6379"},
	}
	for _, p := range probes {
		fmt.Println(p.Name()) // never the password
	}
	// Output:
	// postgres 127.0.0.1:5432/app
	// redis 127.0.0.1:6379/0
}
