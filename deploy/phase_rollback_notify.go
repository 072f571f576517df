package deploy

import (
	"context"

	"github.com/blueshift-deploy/blueshift/notify"
)

// rollbackNotifyPhase announces a manual rollback (or its failure). It is
// final.
type rollbackNotifyPhase struct{ e *Engine }

func (rollbackNotifyPhase) Name() string { return PhaseNotify }
func (rollbackNotifyPhase) Always() bool { return true }

func (p rollbackNotifyPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if refused(d) {
		return nil
	}
	kind := notify.RolledBack
	if d.Outcome != OutcomeSucceeded {
		kind = notify.Failed
	}
	ev := e.event(d, kind)
	ev.Automatic = false
	if d.Previous != nil { // the release rolled away from: GitHub marks it inactive
		ev.FromVersion, ev.FromDeploymentID = d.Previous.Version, d.Previous.DeploymentID
	}
	e.send(ctx, d, ev)
	return nil
}

func (rollbackNotifyPhase) Plan(context.Context, *Deployment) (string, error) {
	return "notify the configured channels", nil
}
