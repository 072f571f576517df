package deploy

import (
	"context"
	"fmt"
	"time"
)

// retirePhase drains the old colour, then stops it; its containers are
// kept for an instant rollback. Its undo starts the old colour again.
type retirePhase struct{ e *Engine }

func (retirePhase) Name() string { return PhaseRetire }

func (p retirePhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if !d.Live.Valid() || d.Live == d.Next {
		return nil
	}
	if drain := e.Env.Timeouts.Drain; drain > 0 {
		d.Progress(fmt.Sprintf("draining %s for %s", d.Live, drain))
		select {
		case <-time.After(drain):
		case <-ctx.Done():
			return ctx.Err()
		}
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
	return fmt.Sprintf("drain %s for %s, then stop it (kept for rollback)", d.Live, p.e.Env.Timeouts.Drain), nil
}
