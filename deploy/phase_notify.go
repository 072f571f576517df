package deploy

import (
	"context"

	"github.com/blueshift-deploy/blueshift/notify"
)

// notifyPhase announces how the deployment ended: successes to the public
// chat, failures and rollbacks to the log chat. It is final: it runs
// whatever happened, and a notifier's failure is a warning.
type notifyPhase struct{ e *Engine }

func (notifyPhase) Name() string { return PhaseNotify }
func (notifyPhase) Always() bool { return true }

func (p notifyPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	kind := notify.Succeeded
	switch d.Outcome {
	case OutcomeRolledBack:
		kind = notify.RolledBack
	case OutcomeFailed, OutcomeRollbackFailed:
		kind = notify.Failed
	}
	ev := e.event(d, kind)
	ev.Automatic = kind == notify.RolledBack
	e.send(ctx, d, ev)
	return nil
}

func (notifyPhase) Plan(context.Context, *Deployment) (string, error) {
	return "notify the configured channels", nil
}
