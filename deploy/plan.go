package deploy

import (
	"context"
	"fmt"
	"io"
	"os"

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
		does := "(user phase)"
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
