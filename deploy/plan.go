package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// NewFromFile loads the configuration at path (empty: $DEPLOY_CONFIG, else
// deploy.yml) and opens environment env. A user's own magefile starts here:
//
//	eng, err := deploy.NewFromFile(ctx, "deploy.yml", "production", deploy.Options{})
//	p := eng.Pipeline()
//	p.InsertBefore(deploy.PhaseSwitch, deploy.NewPhase("warm-cache", warm))
//	err = p.Run(ctx, eng.NewDeployment(v))
func NewFromFile(ctx context.Context, path, env string, o Options) (*Engine, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var cfg *Config
	var err error
	if path == "" {
		cfg, err = LoadDefault(getenv)
	} else {
		cfg, err = Load(path, getenv)
	}
	if err != nil {
		return nil, err
	}
	return Open(ctx, cfg, env, o)
}

// Plan is what a deployment would do, worked out without changing the host.
type Plan struct {
	Version version.Version
	ID      string
	Live    version.Colour
	Next    version.Colour
	Current *state.Release
	Checks  []Check
	Phases  []PlannedPhase
	// Colour and Shared are the next colour's and the shared project's
	// rendered compose files for printing: values from the host's env file
	// are shown as ${NAME} (compose.RenderedProject.MaskedYAML), so a plan
	// can go to a CI log. The files a deployment writes hold the values.
	Colour    []byte
	Shared    []byte
	Preflight error // nil when every check passed
}

// PlannedPhase is one phase and what it would do.
type PlannedPhase struct {
	Name, Does string
}

// Plan validates what can be validated without changing the host (config,
// version, images, preflight) and says what each phase of p would do. It
// returns an error when deploying v would fail before changing anything.
func (e *Engine) Plan(ctx context.Context, v version.Version, p *Pipeline) (*Plan, error) {
	st, err := e.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	live, err := e.liveColour(ctx, st)
	if err != nil {
		return nil, err
	}
	next := version.Blue
	if live.Valid() {
		next = live.Other()
	}
	d := e.NewDeployment(v)
	d.Live, d.Next, d.Previous = live, next, st.Current
	pl := &Plan{Version: v, ID: d.ID, Live: live, Next: next, Current: st.Current}
	r, err := e.render(ctx, next, v, d.ID)
	if err != nil {
		return nil, err
	}
	if pl.Colour, err = r.Colour.MaskedYAML(); err != nil {
		return nil, err
	}
	if pl.Shared, err = r.Shared.MaskedYAML(); err != nil {
		return nil, err
	}
	pl.Checks, pl.Preflight = e.preflightWith(ctx, v, live, r)
	for _, ph := range p.Phases() {
		does := e.describe(ph.Name(), d)
		if pln, ok := ph.(Planner); ok {
			if s, err := pln.Plan(ctx, d); err == nil && s != "" {
				does = s
			}
		}
		pl.Phases = append(pl.Phases, PlannedPhase{Name: ph.Name(), Does: does})
	}
	if pl.Preflight != nil {
		return pl, pl.Preflight
	}
	return pl, nil
}

// describe says what a standard phase would do for d.
func (e *Engine) describe(name string, d *Deployment) string {
	env := e.Env
	switch name {
	case PhaseLock:
		return "take the deploy lock in " + e.Store.Path() + " (then, holding it, reconcile an interrupted run)"
	case PhasePrepare:
		return fmt.Sprintf("deployment %s: %s -> %s, release notes, GitHub deployment record", d.ID, orNone(string(d.Live)), d.Next)
	case PhasePreflight:
		return "images, disk, memory, Docker, Compose, proxy, backup plan, timeouts (results below)"
	case PhaseTest:
		if d.TestsSkipped {
			return "SKIPPED (SKIP_TESTS=true)"
		}
		if len(env.Tests.Command) == 0 {
			return "nothing: tests.command is not set"
		}
		return "run " + strings.Join(env.Tests.Command, " ")
	case PhaseBackup:
		if !env.Backup.Enabled {
			return "nothing: backup.enabled is false"
		}
		return fmt.Sprintf("back up into %s/pre-deploy-%s-<time>/, keep the newest %d", env.Backup.Dir, d.Version, env.Backup.Keep)
	case PhaseStart:
		return fmt.Sprintf("start project %s (%s) beside the live colour, shared services if absent", e.colourCLI(d.Next).ProjectName, strings.Join(env.Services.Stateless, ", "))
	case PhaseMigrate:
		var parts []string
		if len(env.Hooks.Migrate) > 0 {
			parts = append(parts, env.Hooks.MigrateService+": "+strings.Join(env.Hooks.Migrate, " "))
		}
		for _, c := range env.Hooks.AfterStart {
			parts = append(parts, c.Service+": "+strings.Join(c.Command, " "))
		}
		if len(parts) == 0 {
			return "nothing: no hooks configured"
		}
		return "run in " + string(d.Next) + ": " + strings.Join(parts, "; ")
	case PhaseHealth:
		probes, _, err := e.healthChecks(d.Next)
		if err != nil {
			return "ERROR: " + err.Error()
		}
		names := make([]string, len(probes))
		for i, p := range probes {
			names[i] = p.Name()
		}
		return "wait for " + strings.Join(names, ", ")
	case PhaseSmoke:
		return fmt.Sprintf("request %d endpoints on %s's own port", len(env.Smoke.Endpoints), d.Next)
	case PhaseSwitch:
		if e.Switcher == nil {
			return "nothing: proxy.kind is none"
		}
		return fmt.Sprintf("switch %s to %s, then check %s answers from it", env.Proxy.Kind, d.Next, orNone(env.PublicURL))
	case PhaseVerify:
		return fmt.Sprintf("watch for %s, every %s, failing after more than %d errors", env.Monitor.Window, env.Monitor.Interval, env.Monitor.MaxErrors)
	case PhaseRetire:
		if !d.Live.Valid() {
			return "nothing: first deployment"
		}
		return fmt.Sprintf("drain %s for %s, then stop it (kept for rollback)", d.Live, env.Timeouts.Drain)
	case PhaseRecord:
		return "record state and history in " + e.Store.Path()
	case PhaseNotify:
		return "notify the configured channels"
	case PhaseUnlock:
		return "release the deploy lock"
	}
	return "(user phase)"
}

// Write prints the plan for people.
func (pl *Plan) Write(w io.Writer) {
	fmt.Fprintf(w, "Plan for %s (%s): %s -> %s\n\n", pl.Version, pl.ID, orNone(string(pl.Live)), pl.Next)
	for i, ph := range pl.Phases {
		fmt.Fprintf(w, "%2d. %-10s %s\n", i+1, ph.Name, ph.Does)
	}
	fmt.Fprintln(w, "\nPreflight:")
	for _, c := range pl.Checks {
		mark := "ok    "
		if !c.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(w, "  %s %-14s %s\n", mark, c.Name, c.Detail)
	}
	fmt.Fprintf(w, "\nRendered compose file of %s:\n%s", pl.Next, pl.Colour)
}
