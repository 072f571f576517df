package deploy

import (
	"context"
	"errors"
	"fmt"

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
	e.liveAtLock = nil // from here the proxy's own answer counts
	if err := e.Switcher.Switch(ctx, string(d.Next)); err != nil {
		return err
	}
	// State's live colour is written by record, not here: the switch is
	// one remote command (it was three with the in-flight mark before it
	// and this write after it). Until record, the proxy's view (which wins
	// everywhere: prepare, reconcile, status) names the new colour, and a
	// run killed in between is reconciled from the in-flight record.
	d.Switched = true
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
	// The next colour is removed right after (start's undo): first the
	// proxy must route back for certain, and requests it accepted before
	// (an old nginx worker finishing its connections) must complete, as
	// retire drains the old colour. Without this wait a request nginx's old
	// worker sent to the next colour met a removed container (502s seen in
	// the monitor-failure e2e test).
	if v, ok := e.Switcher.(traffic.Verifier); ok {
		if err := v.Verify(ctx, string(d.Live), health.Policy{}); err != nil && !errors.Is(err, traffic.ErrNotVerifiable) {
			d.Warn(fmt.Sprintf("after switching back, the proxy was not seen routing to %s: %v", d.Live, err))
		}
	}
	d.Progress(fmt.Sprintf("draining %s for %s", d.Next, e.Env.Timeouts.Drain))
	return e.drain(ctx)
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
