package deploy

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
)

// switchPhase moves the proxy to the next colour and, when the public URL
// and a colour header are configured, checks that it answers from there.
// Its undo sends traffic back to the old colour, started and checked first.
type switchPhase struct{ e *Engine }

func (switchPhase) Name() string { return PhaseSwitch }

func (p switchPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if e.Switcher == nil {
		d.Warn("proxy.kind is none: traffic was not switched by blueshift")
		return nil
	}
	if err := e.Switcher.Switch(ctx, string(d.Next)); err != nil {
		return err
	}
	d.Switched = true
	if _, err := e.Store.Update(ctx, func(s *state.State) { s.Live = string(d.Next) }); err != nil {
		return err
	}
	if e.Env.PublicURL != "" && e.Env.Proxy.VersionHeader != "" {
		if err := traffic.VerifyPublic(ctx, e.Env.PublicURL, string(d.Next), traffic.VerifyOptions{Header: e.Env.Proxy.VersionHeader}); err != nil {
			return fmt.Errorf("after the switch %s does not answer from %s: %w", e.Env.PublicURL, d.Next, err)
		}
	}
	return nil
}

func (p switchPhase) Undo(ctx context.Context, d *Deployment) error {
	e := p.e
	if e.Switcher == nil || !d.Switched || !d.Live.Valid() {
		return nil
	}
	if err := e.ensureServing(ctx, d, d.Live); err != nil {
		return err
	}
	if err := e.Switcher.Switch(ctx, string(d.Live)); err != nil {
		return fmt.Errorf("switch back to %s: %w", d.Live, err)
	}
	d.Switched = false
	_, err := e.Store.Update(ctx, func(s *state.State) { s.Live = string(d.Live) })
	return err
}

func (p switchPhase) Plan(_ context.Context, d *Deployment) (string, error) {
	e := p.e
	if e.Switcher == nil {
		return "nothing: proxy.kind is none", nil
	}
	return fmt.Sprintf("switch %s to %s, then check %s answers from it", e.Env.Proxy.Kind, d.Next, orNone(e.Env.PublicURL)), nil
}
