package traffic

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/traffic/load"
)

// burnCPU runs n busy shell loops (a plain `while :; do :; done`, each
// taking a whole core when it can) until the test ends, so that Caddy, the
// load generator and the backends compete for the cores as they do on a
// small server where other work runs beside the deployment.
func burnCPU(t *testing.T, n int) {
	t.Helper()
	for range n {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		t.Cleanup(func() {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = cmd.Wait()
		})
	}
}

// caddySwitches is how many switches TestCaddySwitchesUnderCPULoadDropNothing
// makes: $BLUESHIFT_CADDY_SWITCHES, default 200.
func caddySwitches(t *testing.T) int {
	s := os.Getenv("BLUESHIFT_CADDY_SWITCHES")
	if s == "" {
		return 200
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 2 {
		t.Fatalf("BLUESHIFT_CADDY_SWITCHES=%q: want a whole number >= 2", s)
	}
	return n
}

// Many switches through Caddy at 300 req/s while busy loops compete for
// every core: not one request may fail, and each switch is verified (the
// public URL answers from the new colour, and Live says so).
//
// On 239a55e the switch PATCHed the handler through Caddy's admin API,
// which reloads Caddy; the old server closed fresh connections whose
// request it read after its shutdown began. Four runs of this test there
// lost 24 of 5,532, 49 of 6,106, 35 of 6,171 and 55 of 5,377 requests
// (each 200 switches; every failure "EOF" on a fresh connection, checked
// with httptrace). With the colour files: 0 of 13,458, 7,059 and 9,330.
func TestCaddySwitchesUnderCPULoadDropNothing(t *testing.T) {
	ctx := context.Background()
	env := startCaddy(t, true)
	burnCPU(t, runtime.NumCPU())
	switches := caddySwitches(t)
	g, err := load.Start(ctx, load.Options{URL: env.url, Rate: 300, Timeout: 30 * time.Second, MaxInFlight: 20000})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	verify := VerifyOptions{Interval: 10 * time.Millisecond, Timeout: 60 * time.Second, Consecutive: 1}
	start := time.Now()
	for i := range switches {
		colour := Green
		if i%2 == 1 {
			colour = Blue
		}
		if err := env.sw.Switch(ctx, colour); err != nil {
			g.Stop()
			t.Fatalf("switch %d to %s: %v", i+1, colour, err)
		}
		if err := VerifyPublic(ctx, env.url, colour, verify); err != nil {
			g.Stop()
			t.Fatalf("switch %d: %v", i+1, err)
		}
		if live, err := env.sw.Live(ctx); err != nil || live != colour {
			g.Stop()
			t.Fatalf("after switch %d to %s Live = %q, %v", i+1, colour, live, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	st := g.Stop()
	t.Logf("%d switches in %s; load: %s", switches, elapsed.Round(time.Millisecond), st)
	if st.Failed > 0 {
		t.Errorf("%d of %d requests failed during %d switches: %v %q", st.Failed, st.Sent, switches, st.ByStatus, st.Errors)
	}
	if st.ByColour[Blue] == 0 || st.ByColour[Green] == 0 {
		t.Errorf("colours seen %v: want both", st.ByColour)
	}
}
