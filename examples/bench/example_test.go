package bench_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/blueshift-deploy/blueshift/examples/bench"
)

// Run the whole bench (what `go tool mage bench` does): it needs the Docker
// Engine, docker compose, nginx and PostgreSQL.
func ExampleRun() {
	o, err := bench.OptionsFromEnv(os.Getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	o.Progress = func(s string) { fmt.Fprintln(os.Stderr, s) }
	res, err := bench.Run(context.Background(), o)
	if res != nil {
		res.WriteTable(os.Stdout)
		_ = res.WriteJSON(bench.OutputPath(os.Getenv))
	}
	if err != nil {
		fmt.Println(err)
	}
}

func ExampleResults_Table() {
	ms := time.Millisecond
	r := &bench.Results{
		Machine:  bench.Machine{Cores: 2, MemoryMB: 4096, Kernel: "6.1.0", Docker: "20.10.24", Compose: "compose 2.40.3", Proxy: "nginx/1.22.1", Go: "go1.26.0"},
		Settings: bench.Settings{Runs: 5, Rate: 300, Monitor: 5 * time.Second, Drain: time.Second},
		Load: []bench.LoadRow{
			{Scenario: bench.ScenarioDeploy, Runs: 5, Sent: 15000, P50: 1100 * time.Microsecond, P99: 46 * ms},
			{Scenario: bench.ScenarioSeed, Runs: 5, Sent: 5000, Failed: 1900, Outage: 1288 * ms, P50: 14 * ms, P99: 1144 * ms},
		},
		Phases:   []bench.PhaseRow{{Name: "start", Median: 1498 * ms, Min: 1400 * ms, Max: 1700 * ms}, {Name: "verify", Median: 5 * time.Second, Min: 5 * time.Second, Max: 5 * time.Second}},
		Deploy:   bench.Breakdown{Total: 10100 * ms, Readiness: 22 * ms, Waits: 6 * time.Second, Overhead: 4078 * ms},
		Rollback: bench.RollbackTimes{Manual: 2209 * ms, ManualRuns: []time.Duration{2209 * ms}, ManualPipeline: 4994 * ms, Auto: 1780 * ms, AutoRuns: []time.Duration{1780 * ms}, AutoToOld: 153 * ms},
	}
	fmt.Print(r.Table())
	// Output:
	// blueshift bench: 2 cores, 4096 MiB RAM, kernel 6.1.0, Docker 20.10.24, compose 2.40.3, proxy nginx/1.22.1, go1.26.0
	// medians of 5 runs per scenario; load 300 requests/s through the proxy; monitor window 5s, drain 1s
	//
	// ZERO DOWNTIME                                 runs  requests  failed  outage   p50      p99
	// blueshift: full deployment                    5     15000     0       0        1.1 ms   46.0 ms
	// seed: compose stop, then up on the same port  5     5000      1900    1288 ms  14.0 ms  1144 ms
	// all scenarios                                       20000     1900
	//
	// DEPLOYMENT PHASES  median   min      max
	// start              1498 ms  1400 ms  1700 ms
	// verify             5000 ms  5000 ms  5000 ms
	// total              10.1 s
	// overhead: 4078 ms = total 10.1 s - image pull 0 (images are local) - app readiness (health probes) 22.0 ms - configured waits (drain + monitor) 6000 ms
	//
	// ROLLBACK                                                         median   runs
	// manual rollback: start to old version answering every request    2209 ms  2209 ms
	// manual rollback: whole pipeline (incl. drain, stop)              4994 ms
	// failure after switch: injected failure to rollback completed     1780 ms  1780 ms
	// failure after switch: injected failure to old version answering  153 ms
}
