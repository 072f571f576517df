package deploy

import (
	"context"
	"errors"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// unlockPhase clears this run's in-flight record (only its own) and
// releases the lock this run holds (only its own: the host-side session
// that holds it removes it). It is final: it runs whatever happened.
//
// A run whose record phase wrote state has already cleared the record in
// that write (see recordPhase): then state as the store knows it
// (Store.Known, no remote command) holds no in-flight record of this run
// and unlock writes nothing, saving a remote command (a session over SSH).
type unlockPhase struct{ e *Engine }

func (unlockPhase) Name() string { return PhaseUnlock }
func (unlockPhase) Always() bool { return true }

func (p unlockPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if d.held == nil {
		return nil
	}
	e.runEnv = nil
	if !stillHeld(d) {
		// The lock was taken away (or its session died): the in-flight
		// record stays for the run that holds the lock next to reconcile.
		return d.held.Release(ctx)
	}
	if st, err := e.Store.Known(ctx); err == nil && (st.InFlight == nil || st.InFlight.DeploymentID != d.ID) {
		// Already cleared (by record), or another run's: nothing to write.
		return d.held.Release(ctx)
	}
	_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) { s.InFlight = nil })
	if err != nil && !errors.Is(err, state.ErrNotOwner) {
		return errors.Join(err, d.held.Release(ctx))
	}
	return d.held.Release(ctx)
}

func (unlockPhase) Plan(context.Context, *Deployment) (string, error) {
	return "release the deploy lock", nil
}
