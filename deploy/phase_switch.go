package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/health"
)

// switchPhase moves the proxy to the next colour and checks at the proxy
// that it routes there (and, with proxy.version_header, that the public URL
// answers from there).
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
	if err := p.verify(ctx, d); err != nil {
		// This phase failed, so the pipeline will not undo it: switch back
		// here, or the colour that failed the check would keep serving.
		if uerr := p.Undo(context.WithoutCancel(ctx), d); uerr != nil {
			return fmt.Errorf("%w; switching back to %s failed too: %w", err, d.Live, uerr)
		}
		return err
	}
	return nil
}

// verify proves the switch from the proxy itself (traffic.Verifier: nginx's
// colour server, Caddy's loaded route and colour files), and, when
// proxy.version_header is set, from the public URL's answers as well.
func (p switchPhase) verify(ctx context.Context, d *Deployment) error {
	e := p.e
	if v, ok := e.Switcher.(traffic.Verifier); ok {
		err := v.Verify(ctx, string(d.Next), health.Policy{})
		switch {
		case errors.Is(err, traffic.ErrNotVerifiable):
			d.Warn(fmt.Sprintf("the switch to %s was not checked at the proxy: %v", d.Next, err))
		case err != nil:
			return fmt.Errorf("after the switch the proxy does not route to %s: %w", d.Next, err)
		default:
			d.AddFact("switch", fmt.Sprintf("%s routes to %s (checked at the proxy)", e.Env.Proxy.Kind, d.Next))
		}
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
	check := "check at the proxy that it routes there"
	if e.Env.PublicURL != "" && e.Env.Proxy.VersionHeader != "" {
		check += fmt.Sprintf(" and that %s answers with %s: %s", e.Env.PublicURL, e.Env.Proxy.VersionHeader, d.Next)
	}
	return fmt.Sprintf("switch %s to %s, then %s", e.Env.Proxy.Kind, d.Next, check), nil
}
