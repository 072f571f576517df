package deploy

import (
	"context"
	"errors"
	"strings"
)

// reconcilePhase, holding the lock the lock phase took, brings the host
// back to one consistent live colour when a run died holding it (a dead
// holder's lock taken over, or a deployment left in flight); when none
// did, it changes nothing.
type reconcilePhase struct{ e *Engine }

func (reconcilePhase) Name() string { return PhaseReconcile }

func (p reconcilePhase) Run(ctx context.Context, d *Deployment) error {
	if d.held == nil {
		return errors.New("reconcile runs after the lock phase: this run holds no deploy lock")
	}
	rec, err := p.e.reconcileHeld(ctx, d.held)
	if err != nil {
		return err
	}
	if rec != nil {
		d.Warn("reconciled an interrupted run first: " + strings.Join(rec.Actions, "; "))
	}
	return nil
}

func (reconcilePhase) Plan(context.Context, *Deployment) (string, error) {
	return "holding the lock, finish or undo a run that died mid-way (nothing when none did)", nil
}
