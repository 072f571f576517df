package deploy

import (
	"context"

	"github.com/blueshift-deploy/blueshift/notify"
)

// notifyStartPhase announces the deployment, once prepare has worked out
// what it is (and creates the GitHub deployment record the outcome's
// notification then updates). A notifier's failure is a warning.
type notifyStartPhase struct{ e *Engine }

func (notifyStartPhase) Name() string { return PhaseNotifyStart }

func (p notifyStartPhase) Run(ctx context.Context, d *Deployment) error {
	p.e.send(ctx, d, p.e.event(d, notify.Started))
	return nil
}

func (notifyStartPhase) Plan(context.Context, *Deployment) (string, error) {
	return "announce the start to the configured channels, GitHub deployment record", nil
}
