package deploy

import "context"

// rollbackHealthPhase checks the colour rolled back to with a fast
// policy: it served minutes ago, so readiness is quick.
type rollbackHealthPhase struct{ e *Engine }

func (rollbackHealthPhase) Name() string { return PhaseHealth }

func (p rollbackHealthPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if err := e.ensureServing(ctx, d, d.Next); err != nil {
		d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
		return err
	}
	return nil
}

func (rollbackHealthPhase) Plan(context.Context, *Deployment) (string, error) {
	return "wait for the colour's backend check (a short policy: it served minutes ago)", nil
}
