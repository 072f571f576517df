package deploy

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// rollbackPreparePhase picks the release to return to (to, or the
// previous release when to is empty) and the colour it runs in, and
// records the rollback as in flight.
type rollbackPreparePhase struct {
	e  *Engine
	to string
}

func (rollbackPreparePhase) Name() string { return PhaseRollbackPrepare }

func (p rollbackPreparePhase) Run(ctx context.Context, d *Deployment) error {
	e, to := p.e, p.to
	// Read under the lock by the reconcile phase: no second read.
	st, err := e.Store.Known(ctx)
	if err != nil {
		return err
	}
	warm := e.warmStandby(ctx, st)
	live, err := e.liveColour(ctx, st)
	if err != nil {
		return err
	}
	if !live.Valid() {
		return fmt.Errorf("%w: nothing is live yet", ErrNoPrevious)
	}
	d.Live, d.Next = live, live.Other()
	d.Previous = st.Current
	target := st.Previous
	if to != "" {
		v, err := e.checkRollbackTo(ctx, st, to) // again, under the lock
		if err != nil {
			return err
		}
		if target == nil || target.Version != v.String() {
			target = &state.Release{Version: v.String()}
			d.furtherBack = true
		}
	}
	if target == nil || target.Version == "" {
		return fmt.Errorf("%w: state records only %s; name a version with -to=VERSION", ErrNoPrevious, releaseVersion(st.Current))
	}
	d.Version, err = version.Parse(target.Version)
	if err != nil {
		return fmt.Errorf("recorded previous release: %w", err)
	}
	d.ID = version.DeploymentID(e.Env.Name, d.Version, time.Now().UTC())
	// d.Lock stays as written to the host: Release matches it on
	// DeploymentID, and the lock was taken before the ID was known.
	rel := *target
	rel.Colour, rel.DeploymentID = string(d.Next), d.ID
	d.Release = &rel
	d.Commit = rel.Commit
	if w := envFileChange(st.Current, target); w != "" {
		d.Warn(w)
	}
	d.AddFact("rolling back", fmt.Sprintf("%s (%s) -> %s (%s)", releaseVersion(st.Current), live, d.Version, d.Next))
	if !d.furtherBack && warm(d.Next, d.Version.String()) {
		d.warm = true
		d.AddFact("standby", fmt.Sprintf("%s runs %s warm until %s: no start", d.Next, d.Version, st.Standby.Until.Format(time.RFC3339)))
	}
	// The release goes into the record now, so the health phase's mark
	// has nothing to add (see markPhase): no write before the switch.
	write := func() error {
		_, err := e.Store.Update(ctx, func(s *state.State) {
			s.InFlight = &state.InFlight{Kind: state.KindRollback, DeploymentID: d.ID, Version: d.Version.String(),
				From: string(d.Live), To: string(d.Next), Phase: PhaseRollbackPrepare, Started: time.Now().UTC(), Holder: holder(d),
				Release: cloneRelease(d.Release)}
		})
		return err
	}
	if d.warm {
		// Nothing runs on the host before the switch but the health
		// check: the write goes beside it (a round trip over SSH less),
		// and health waits for it.
		d.recorded = make(chan error, 1)
		go func() { d.recorded <- write() }()
		return nil
	}
	return write()
}

func (p rollbackPreparePhase) Plan(context.Context, *Deployment) (string, error) {
	if p.to == "" {
		return "pick the previous release and the colour it runs in", nil
	}
	return "pick " + p.to + " and the colour it runs in", nil
}

// cloneRelease is a copy of r that later changes to r do not reach.
func cloneRelease(r *state.Release) *state.Release {
	if r == nil {
		return nil
	}
	c := *r
	c.Images = maps.Clone(r.Images)
	return &c
}

func releaseVersion(r *state.Release) string {
	if r == nil {
		return "nothing"
	}
	return r.Version
}
