package deploy

import (
	"context"
	"errors"

	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// ErrNoPrevious is returned by a rollback with no earlier release recorded.
var ErrNoPrevious = errors.New("no previous release to roll back to")

// ErrNeverLive is wrapped by the refusal of `rollback -to=VERSION` when
// VERSION was never live in the environment: a rollback returns to a
// release that served before, and anything else is a deployment.
var ErrNeverLive = errors.New("never live")

// furtherBackOnly runs its phase only in a rollback further back than the
// previous release (see RollbackPipeline).
type furtherBackOnly struct{ Phase }

func (f furtherBackOnly) Run(ctx context.Context, d *Deployment) error {
	if !d.furtherBack {
		d.Progress("not needed: returning to the previous release")
		return nil
	}
	return f.Phase.Run(ctx, d)
}

func (f furtherBackOnly) Plan(ctx context.Context, d *Deployment) (string, error) {
	pl, ok := f.Phase.(Planner)
	if !ok {
		return "", nil
	}
	s, err := pl.Plan(ctx, d)
	if err != nil || s == "" {
		return s, err
	}
	return s + " (only further back than the previous release)", nil
}

// refused reports whether d was refused before it changed anything (a
// rollback target that was never live, checked before the lock and again
// under it): nothing is recorded or announced then.
func refused(d *Deployment) bool {
	return d.Failure != nil && (d.Failure.Phase == PhaseRollbackCheck || errors.Is(d.Failure, ErrNeverLive))
}

// NewRollback describes a manual rollback started now.
func (e *Engine) NewRollback() *Deployment {
	d := e.NewDeployment(version.Version{})
	d.ID = ""
	d.TestsSkipped = false
	return d
}
