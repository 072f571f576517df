package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/traffic/load"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// ThebotLoad is the thebot scenario's load through its host nginx, per
// path: the frontend at the rate issue 12 asks for, and a modest rate on a
// Django endpoint (gunicorn's 2 workers share 2 cores with everything
// else).
var ThebotLoad = []struct {
	Path string
	Rate int
}{{"/", 150}, {"/api/health/", 20}}

// ScenarioThebot prefixes the thebot scenario's load rows.
const ScenarioThebot = "thebot v1.0.0 -> v1.0.1"

// ThebotResult is the thebot scenario (Options.Scenarios "thebot", not in
// the default run): the seed's own application (examples/thebot: Django,
// Celery, an nginx frontend, PostgreSQL 15, Redis, behind a host nginx)
// deployed by blueshift's engine from v1.0.0 to v1.0.1 under load, with
// its test phase (the app's Django tests on a PostgreSQL and a Redis
// started for them) and v1.0.1 pulled from the local registry.
type ThebotResult struct {
	// BaseBuilt says the base image was built (a cold build) rather than
	// found; Base, Build and Push are thebot.Build's steps (Build: the
	// application images' `docker build`s, Push: to the registry).
	BaseBuilt bool          `json:"base_built"`
	Base      time.Duration `json:"base_ns"`
	Build     time.Duration `json:"build_ns"`
	Push      time.Duration `json:"push_ns"`
	// Phases are the v1.0.1 deployment's phases; Total its wall time.
	Phases []PhaseRow    `json:"phases"`
	Total  time.Duration `json:"total_ns"`
	Load   []LoadRow     `json:"load"`
}

// BenchThebot runs the thebot scenario in a workspace under dir (a
// temporary one when empty) and removes the stack afterwards (the images
// stay: they are thebot.Build's cache).
func BenchThebot(ctx context.Context, o Options) (*ThebotResult, error) {
	dir, err := os.MkdirTemp(o.Dir, "blueshift-bench-thebot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ports := make([]int, 6)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	to := thebot.Options{
		Dir: dir, App: "thebotbench",
		RegistryAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]), ProxyAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Backend:  thebot.ColourPorts{Blue: ports[2], Green: ports[3]},
		Frontend: thebot.ColourPorts{Blue: ports[4], Green: ports[5]},
		Logger:   o.Logger, Progress: func(s string) { o.progress("thebot: %s", s) },
	}
	defer func() { _, _ = thebot.Down(context.WithoutCancel(ctx), to) }()
	im, err := thebot.Build(ctx, to)
	if err != nil {
		return nil, err
	}
	res := &ThebotResult{BaseBuilt: im.BaseBuilt, Base: im.BaseTime, Build: im.BuildTime, Push: im.PushTime}
	w, err := thebot.Open(to)
	if err != nil {
		return res, err
	}
	w.Images = im
	if err := w.WriteFiles(im); err != nil {
		return res, err
	}
	if err := w.StartProxy(ctx); err != nil {
		return res, err
	}
	cfg, err := w.WriteDeployConfig(filepath.Join(dir, "srv"), o.Monitor.String(), thebot.Workarounds{})
	if err != nil {
		return res, err
	}
	getenv := func(k string) string {
		if k == thebot.RegistryPasswordEnv {
			return im.Registry.Password
		}
		return os.Getenv(k)
	}
	deployVersion := func(v string) (*deploy.Deployment, error) {
		eng, err := deploy.NewFromFile(ctx, cfg, thebot.DefaultEnvironment, deploy.Options{Getenv: getenv, Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		defer eng.Close()
		d := eng.NewDeployment(version.MustParse(v))
		d.Reason = "blueshift bench"
		return d, eng.Pipeline().Run(ctx, d)
	}
	o.progress("thebot: deploying %s", thebot.FirstVersion)
	if d, err := deployVersion(thebot.FirstVersion); err != nil {
		return res, fmt.Errorf("deploy %s: %w%s", thebot.FirstVersion, err, logsOf(d))
	}
	gens := make([]*load.Generator, len(ThebotLoad))
	for i, l := range ThebotLoad {
		if gens[i], err = load.Start(ctx, load.Options{URL: w.PublicURL() + l.Path, Rate: l.Rate, Timeout: 10 * time.Second}); err != nil {
			return res, err
		}
	}
	o.progress("thebot: deploying %s under load", thebot.SecondVersion)
	d, err := deployVersion(thebot.SecondVersion)
	for i, g := range gens {
		s := g.Stop()
		res.Load = append(res.Load, loadRow(fmt.Sprintf("%s: GET %s at %d/s", ScenarioThebot, ThebotLoad[i].Path, ThebotLoad[i].Rate), 1, s, s.Outage()))
	}
	if err != nil {
		return res, fmt.Errorf("deploy %s: %w%s", thebot.SecondVersion, err, logsOf(d))
	}
	var pts []PhaseTime
	for _, p := range d.Report.Phases {
		if !p.Undo {
			pts = append(pts, PhaseTime{Name: p.Name, Duration: p.Duration})
		}
	}
	res.Phases = PhaseMedians([][]PhaseTime{pts})
	res.Total = d.Report.Finished.Sub(d.Report.Started)
	return res, nil
}
