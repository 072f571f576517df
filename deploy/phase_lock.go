package deploy

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// lockPhase takes the deploy lock for d (kind is state.KindDeploy or
// state.KindRollback) and watches it: losing it mid-run aborts the run,
// which then undoes nothing (see lockLost). The reconcile phase after it
// repairs what an interrupted run left; the unlock phase, which always
// runs, releases the lock.
type lockPhase struct {
	e    *Engine
	kind string
}

func (lockPhase) Name() string { return PhaseLock }

func (p lockPhase) Run(ctx context.Context, d *Deployment) error {
	e, kind := p.e, p.kind
	// Losing the lock mid-run stops the run (Deployment.Abort does nothing
	// once the final phases, unlock among them, have started), and the run
	// undoes nothing (lockLost).
	held, err := e.holdLock(ctx, state.NewLock(kind, d.Version.String(), d.ID, d.Reason),
		func(cause error) { d.Abort(lockLost{cause}) })
	if err != nil {
		return err
	}
	d.Lock, d.held = &held.Lock, held
	e.runEnv = &envFileCache{}
	return nil
}

func (p lockPhase) Plan(context.Context, *Deployment) (string, error) {
	return "take the deploy lock in " + p.e.Store.Path(), nil
}

// lockLost is the cause a run is aborted with when its deploy lock is lost
// (errors.Is(err, state.ErrLockLost) holds). The run undoes nothing (it is
// a noUndo): another run may hold the lock now, and two runs changing the
// host at once is what the lock exists to prevent; the next run holding it
// reconciles.
type lockLost struct{ err error }

func (l lockLost) Error() string { return l.err.Error() }
func (l lockLost) Unwrap() error { return l.err }

// NoUndo says what to do after a run stopped by a lost lock.
func (lockLost) NoUndo(phase string) string {
	return fmt.Sprintf("this run lost the deploy lock during %s (its host-side session ended: the connection to the host dropped, or someone ran lock:release -force), so it undid nothing: another run may hold the lock now. Run `go tool mage reconcile` (it takes the lock and brings the host back to one serving colour), then `go tool mage status`", phase)
}
