package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// recordPhase writes the outcome into state and history. A release left
// serving by a failed undo (see guardServing) becomes the current one in
// state, because it is what the proxy serves: a rollback then returns to
// the release before it. State is written only while it is this run's
// (its deployment is the one in flight), and that write clears the
// in-flight record too unless the lock was lost; history always. It is
// final: it runs whatever happened.
type recordPhase struct{ e *Engine }

func (recordPhase) Name() string { return PhaseRecord }
func (recordPhase) Always() bool { return true }

func (p recordPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	now := time.Now().UTC()
	var owned error
	if d.Outcome == OutcomeSucceeded || d.leftServing {
		d.Release.DeployedAt = now
		clearInFlight := stillHeld(d)
		_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) {
			s.App = e.App
			s.Live = string(d.Next)
			if s.Current != nil && s.Current.Version != "" {
				s.Previous = s.Current
			}
			s.Current = d.Release
			if clearInFlight {
				// The run's outcome is in state: its in-flight record is
				// cleared in this same write, so unlock needn't write again
				// (one remote command fewer). A lost lock keeps the record
				// for the next holder to reconcile, as unlock does.
				s.InFlight = nil
			}
		})
		if owned = notOwned(err); owned == nil && err != nil {
			return err
		}
	}
	return errors.Join(owned, e.Store.Append(ctx, e.historyEntry(d, state.KindDeploy)))
}

func (p recordPhase) Plan(context.Context, *Deployment) (string, error) {
	return "record state and history in " + p.e.Store.Path(), nil
}
