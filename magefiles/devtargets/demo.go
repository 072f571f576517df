package devtargets

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/console"
	"github.com/blueshift-deploy/blueshift/examples/demo"
)

// Demo runs a zero-downtime blue-green deployment on this machine (needs only Go and Docker).
//
// It builds the demo app's images v1.0.0 and v1.0.1, writes a workspace
// ($BLUESHIFT_DEMO_DIR, default ~/.cache/blueshift-demo) with a compose file
// and a deploy.yml, starts Caddy on http://127.0.0.1:18080, deploys v1.0.0,
// then v1.0.1 through the full production pipeline while 150 requests/s go
// through Caddy, and prints the summary and the load's numbers. It exits
// non-zero when a deployment failed or a single request failed. Running it
// again re-uses what runs; `go tool mage demo:down` removes it all.
func Demo(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := demoOptions()
	var c *console.Console
	o.BeforeDeploy = func(d *deploy.Deployment) { c = console.New(stdout, console.Options{}); d.Observe = c.Observe }
	o.AfterDeploy = func(d *deploy.Deployment, _ error) { _ = c.Summary(d) }
	ws, err := demo.Setup(ctx, o)
	if err != nil {
		return fail(err)
	}
	if _, err := demo.StartProxy(ctx, ws); err != nil {
		return fail(err)
	}
	res, err := demo.Run(ctx, ws)
	if res != nil && res.Second != nil {
		fmt.Fprintf(stdout, "\nload during the %s deployment: %s\n", demo.SecondVersion, res.LoadLine())
	}
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "\n%s is live at %s. Next, try:\n", demo.SecondVersion, ws.PublicURL())
	for _, s := range ws.NextSteps() {
		fmt.Fprintln(stdout, "  "+s)
	}
	return nil
}

// DEMO holds `demo:down` (mage lowercases the name; Demo is the target above).
type DEMO mg.Namespace

// Down stops the demo: Caddy, both colours and their volumes, and the workspace's files (idempotent).
func (DEMO) Down(ctx context.Context) error {
	rep, err := demo.Down(ctx, demoOptions())
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "demo removed: caddy stopped %v, %d container(s), %d volume(s), %d network(s); images %s:* kept\n",
		rep.ProxyStopped, rep.Containers, rep.Volumes, rep.Networks, demo.DefaultImage)
	return nil
}

// demoOptions are the demo's defaults, progress on stderr.
func demoOptions() demo.Options {
	return demo.Options{
		Getenv:   getenv,
		Logger:   newLogger(),
		Progress: func(s string) { fmt.Fprintln(stderr, "demo:", s) },
	}
}
