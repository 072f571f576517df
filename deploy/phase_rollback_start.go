package deploy

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/container"
)

// rollbackStartPhase starts the kept colour when it holds the target
// version, and otherwise renders the target version into it (pulling
// images if needed); a warm standby (environment standby) runs already
// and is not started. Its undo stops the colour again, keeping its
// containers, unless the proxy still serves it (the switch back failed):
// then it stays running (see guardServing).
type rollbackStartPhase struct{ e *Engine }

func (rollbackStartPhase) Name() string { return PhaseRollbackStart }

func (p rollbackStartPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if d.warm {
		d.Progress(fmt.Sprintf("%s is the warm standby: its proxied services run %s already", d.Next, d.Version))
		return nil
	}
	kept, err := container.Containers(ctx, e.docker, e.App, string(d.Next))
	if err != nil {
		return err
	}
	// renderedFrom answers from the container list; the host is asked
	// (`test -e`, one remote command) only when the labels do not tell.
	if len(kept) > 0 && (e.renderedFrom(kept, d.Next) || e.colourExists(ctx, d.Next)) && kept[0].Labels["blueshift.version"] == d.Version.String() {
		d.Progress(fmt.Sprintf("starting the kept %s containers (%s)", d.Next, d.Version))
		return e.startColour(ctx, d.Next)
	}
	d.Progress(fmt.Sprintf("%s no longer holds %s: rendering and starting it", d.Next, d.Version))
	imgs, err := e.upColour(ctx, d.Next, d.Version, d.ID, d.Progress)
	if err != nil {
		return err
	}
	d.Release.Images = imgs
	e.stampEnvFile(d.Release) // rendered with it: kept in the in-flight record too
	return nil
}

func (p rollbackStartPhase) Undo(ctx context.Context, d *Deployment) error {
	e := p.e
	if d.warm {
		return nil // started nothing: it stays the standby it was
	}
	if err := e.guardServing(ctx, d); err != nil {
		return err
	}
	return e.stopColour(ctx, d.Next)
}

func (rollbackStartPhase) Plan(context.Context, *Deployment) (string, error) {
	return "start the kept colour, or render the release into it", nil
}
