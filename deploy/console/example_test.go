package console_test

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/console"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// A frontend plugs the console into the deployment, runs the pipeline and
// prints the summary. Written to a pipe or file (CI), the console prints
// one plain line per event; on a terminal it draws a live timeline.
func Example() {
	clk := newClock() // fixed times so the output below is stable
	c := console.New(os.Stdout, console.Options{Now: clk.Now})
	defer c.Close()

	d := &deploy.Deployment{
		Environment: "staging",
		Version:     version.MustParse("v1.4.0"),
		ID:          "staging-v1.4.0-20241227_183050",
		Live:        version.Blue,
		Next:        version.Green,
		Observe:     c.Observe,
		Clock:       clk.Now,
	}
	p := deploy.NewPipeline(
		deploy.NewPhase("start", func(_ context.Context, d *deploy.Deployment) error {
			d.Progress("web: started")
			clk.Advance(2 * time.Second)
			return nil
		}),
		deploy.NewPhase("health", func(_ context.Context, d *deploy.Deployment) error {
			clk.Advance(1500 * time.Millisecond)
			return errors.New("web: 5 attempts in 30s, last: connection refused")
		}),
	)
	if err := p.Run(context.Background(), d); err != nil {
		c.Summary(d)
	}
	// Output:
	// [   0.0s] start     started
	// [   0.0s] start     web: started
	// [   2.0s] start     ✓ done in 2.0s
	// [   2.0s] health    started
	// [   3.5s] health    ✗ failed after 1.5s: web: 5 attempts in 30s, last: connection refused
	//
	// ❌ failed: v1.4.0 failed in phase health on staging; nothing had changed for users
	//
	//   version      v1.4.0
	//   deployment   staging-v1.4.0-20241227_183050
	//   environment  staging
	//   colours      blue → green
	//   started      2024-12-27 18:30:50 UTC
	//   duration     3.5s
	//
	// phases
	//   ✓ start            2.0s  ok
	//   ✗ health           1.5s  failed: web: 5 attempts in 30s, last: connection refused
	//
	// failure
	//   ✗ health: web: 5 attempts in 30s, last: connection refused
}
