package deploy

import (
	"context"
	"fmt"
	"strings"
)

// startPhase brings the next colour up beside the live one. Its undo
// removes the next colour, unless the proxy still serves it (the switch
// back failed): then it stays running (see guardServing).
type startPhase struct{ e *Engine }

func (startPhase) Name() string { return PhaseStart }

func (p startPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	var imgs map[string]string
	err := bounded(ctx, e.field("timeouts.start"), e.Env.Timeouts.Start, func(ctx context.Context) (err error) {
		imgs, err = e.upColour(ctx, d.Next, d.Version, d.ID, d.Progress)
		return err
	})
	if err != nil {
		d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
		return err
	}
	d.Release.Images = imgs
	e.stampEnvFile(d.Release) // rendered with it: kept in the in-flight record too
	return nil
}

func (p startPhase) Undo(ctx context.Context, d *Deployment) error {
	e := p.e
	if d.Logs == "" {
		d.Logs = e.colourLogs(ctx, d.Next, 30)
	}
	if err := e.guardServing(ctx, d); err != nil {
		return err
	}
	return e.removeColour(ctx, d.Next)
}

func (p startPhase) Plan(_ context.Context, d *Deployment) (string, error) {
	e := p.e
	return fmt.Sprintf("start project %s (%s) beside the live colour, shared services if absent", e.colourCLI(d.Next).ProjectName, strings.Join(e.Env.Services.Stateless, ", ")), nil
}
