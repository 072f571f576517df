package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// retirePhase drains the old colour, then stops it; its containers are
// kept for an instant rollback. With environment standby, a deployment
// keeps the old colour's proxied services running instead (keepStandby:
// no drain, they stay up) and stops only the others; a rollback to a warm
// standby first starts the services of the colour it returned to that the
// standby had stopped. Its undo starts the old colour again.
type retirePhase struct{ e *Engine }

func (retirePhase) Name() string { return PhaseRetire }

func (p retirePhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if !d.Live.Valid() || d.Live == d.Next {
		return nil
	}
	if _, others := e.standbySplit(); d.warm && len(others) > 0 {
		if err := e.startColour(ctx, d.Next); err != nil {
			return err
		}
	}
	if e.Env.Standby > 0 && e.Switcher != nil && d.Lock != nil && d.Lock.Kind == state.KindDeploy && d.Previous != nil {
		d.Progress(fmt.Sprintf("keeping %s's proxied services warm for %s (standby)", d.Live, e.Env.Standby))
		sb, err := e.keepStandby(ctx, d.Live, d.Previous.Version)
		if err != nil {
			return err
		}
		d.standby = sb
		if sb != nil {
			d.AddFact("standby", fmt.Sprintf("%s (%s) until %s", sb.Colour, sb.Release, sb.Until.Format(time.RFC3339)))
		}
		return nil
	}
	d.Progress(fmt.Sprintf("draining %s for %s", d.Live, e.Env.Timeouts.Drain))
	if err := e.drain(ctx); err != nil {
		return err
	}
	return e.stopColour(ctx, d.Live)
}

func (p retirePhase) Undo(ctx context.Context, d *Deployment) error {
	e := p.e
	if !d.Live.Valid() || d.Live == d.Next {
		return nil
	}
	return e.startColour(ctx, d.Live)
}

func (p retirePhase) Plan(_ context.Context, d *Deployment) (string, error) {
	if !d.Live.Valid() {
		return "nothing: first deployment", nil
	}
	if sb := p.e.Env.Standby; sb > 0 && p.e.Switcher != nil {
		return fmt.Sprintf("keep %s's proxied services running for %s (standby), stop its others", d.Live, sb), nil
	}
	return fmt.Sprintf("drain %s for %s, then stop it (kept for rollback)", d.Live, p.e.Env.Timeouts.Drain), nil
}
