package deploy

import (
	"context"
	"fmt"
)

// preflightPhase checks that the deployment can work before anything
// changes (preflightWith), printing each check.
type preflightPhase struct{ e *Engine }

func (preflightPhase) Name() string { return PhasePreflight }

func (p preflightPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	checks, err := e.preflightWith(ctx, d.Version, d.Live, nil)
	for _, c := range checks {
		mark := "ok"
		if !c.OK {
			mark = "FAILED"
		}
		d.Progress(fmt.Sprintf("%-14s %-6s %s", c.Name, mark, c.Detail))
	}
	return err
}

func (preflightPhase) Plan(context.Context, *Deployment) (string, error) {
	return "images, disk, memory, Docker, Compose, proxy, backup plan, timeouts (results below)", nil
}
