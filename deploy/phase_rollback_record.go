package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// rollbackRecordPhase records the outcome; on success (or when a failed
// undo left it serving) the rolled-back-to release becomes current and the
// one left becomes previous. It is final.
type rollbackRecordPhase struct{ e *Engine }

func (rollbackRecordPhase) Name() string { return PhaseRecord }
func (rollbackRecordPhase) Always() bool { return true }

func (p rollbackRecordPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if refused(d) {
		return nil
	}
	var owned error
	if d.Outcome == OutcomeSucceeded || d.leftServing {
		d.Release.DeployedAt = time.Now().UTC()
		clearInFlight := stillHeld(d)
		_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) {
			s.Live = string(d.Next)
			s.Previous, s.Current = s.Current, d.Release
			if clearInFlight {
				s.InFlight = nil // in this write, not unlock's (see record)
			}
		})
		if owned = notOwned(err); owned == nil && err != nil {
			return err
		}
	}
	ent := e.historyEntry(d, state.KindRollback)
	ent.Automatic = false
	return errors.Join(owned, e.Store.Append(ctx, ent))
}

func (p rollbackRecordPhase) Plan(context.Context, *Deployment) (string, error) {
	return "record state and history in " + p.e.Store.Path(), nil
}
