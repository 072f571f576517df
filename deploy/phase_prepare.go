package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// preparePhase finds the live colour (the proxy's view wins over state),
// picks the next one, records the deployment as in flight and writes the
// release notes.
type preparePhase struct{ e *Engine }

func (preparePhase) Name() string { return PhasePrepare }

func (p preparePhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	// Read under the lock by the reconcile phase: no second read.
	st, err := e.Store.Known(ctx)
	if err != nil {
		return err
	}
	live, err := e.liveColour(ctx, st)
	if err != nil {
		return err
	}
	if live.Valid() && st.Current == nil {
		// A proxy set up to point at a colour nothing was deployed to yet:
		// this is the first deployment.
		if running, err := e.colourRunning(ctx, live); err == nil && !running {
			live = ""
		}
	}
	d.Live = live
	d.Next = version.Blue
	if live.Valid() {
		d.Next = live.Other()
	}
	d.Previous = st.Current
	if d.Previous != nil && d.Previous.Version == d.Version.String() && d.Previous.Colour == string(live) {
		d.Warn(fmt.Sprintf("%s is already live; deploying it again as %s", d.Version, d.Next))
	}
	if d.Commit == "" {
		if out, err := host.Output(ctx, host.NewLocal(), "git", "rev-parse", "HEAD"); err == nil {
			d.Commit = strings.TrimSpace(string(out))
		}
	}
	d.Release = &state.Release{Version: d.Version.String(), Colour: string(d.Next), DeploymentID: d.ID, Commit: d.Commit}
	e.releaseNotes(ctx, d)
	if d.TestsSkipped {
		d.Warn("SKIP_TESTS=true: the test suite will not run (emergency path); this is recorded in history and notifications")
	}
	_, err = e.Store.Update(ctx, func(s *state.State) {
		s.App = e.App
		s.InFlight = &state.InFlight{Kind: state.KindDeploy, DeploymentID: d.ID, Version: d.Version.String(),
			From: string(d.Live), To: string(d.Next), Phase: PhasePrepare, Started: time.Now().UTC(), Holder: holder(d)}
	})
	if err != nil {
		return err
	}
	d.AddFact("live colour", orNone(string(d.Live)))
	d.AddFact("next colour", string(d.Next))
	return nil
}

func (preparePhase) Plan(_ context.Context, d *Deployment) (string, error) {
	return fmt.Sprintf("deployment %s: %s -> %s, in-flight record, release notes", d.ID, orNone(string(d.Live)), d.Next), nil
}
