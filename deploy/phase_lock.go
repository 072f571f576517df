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
	// The proxy's upstream file is read by the lock's own command too:
	// prepare's first question costs no command more.
	var files []string
	lf, readsFile := e.Switcher.(liveFileReader)
	if readsFile {
		files = []string{lf.UpstreamFile()}
	}
	e.liveAtLock = nil
	held, err := e.Store.AcquireReading(ctx, l, files...)
	if err != nil {
		return err
	}
	if readsFile {
		if data, ok := held.Files[lf.UpstreamFile()]; ok {
			c, err := lf.LiveIn(data)
			e.liveAtLock = &liveReading{colour: c, err: err}
		}
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
		e.liveAtLock = nil // reconcile may have switched: ask the proxy again
		d.Warn("reconciled an interrupted run first: " + strings.Join(rec.Actions, "; "))
	}
	// A standby whose window has passed is stopped (when the host's job
	// has not) and forgotten.
	return e.expireStandby(ctx, d)
}

func (p lockPhase) Plan(context.Context, *Deployment) (string, error) {
	return "take the deploy lock in " + p.e.Store.Path() + " (then, holding it, reconcile an interrupted run)", nil
}
