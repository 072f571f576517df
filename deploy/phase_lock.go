package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// lockPhase takes the deploy lock for d and, holding it, reconciles an
// interrupted run (a dead holder's lock taken over, or a deployment left in
// flight). The lock is released by the unlock phase, which always runs.
// kind is state.KindDeploy or state.KindRollback.
type lockPhase struct {
	e    *Engine
	kind string
}

func (lockPhase) Name() string { return PhaseLock }

func (p lockPhase) Run(ctx context.Context, d *Deployment) error {
	e, kind := p.e, p.kind
	l := state.NewLock(kind, d.Version.String(), d.ID, d.Reason)
	held, err := e.Store.Acquire(ctx, l)
	if err != nil {
		return err
	}
	d.Lock, d.held = &held.Lock, held
	e.runEnv = &envFileCache{}
	go func() {
		// Losing the lock mid-run stops the run (Deployment.Abort does
		// nothing once the final phases, unlock among them, have started).
		<-held.Lost()
		d.Abort(fmt.Errorf("%w: %w", state.ErrLockLost, held.Err()))
	}()
	rec, err := e.reconcileHeld(ctx, held)
	if err != nil {
		return err
	}
	if rec != nil {
		d.Warn("reconciled an interrupted run first: " + strings.Join(rec.Actions, "; "))
	}
	return nil
}

func (p lockPhase) Plan(context.Context, *Deployment) (string, error) {
	return "take the deploy lock in " + p.e.Store.Path() + " (then, holding it, reconcile an interrupted run)", nil
}
