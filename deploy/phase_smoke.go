package deploy

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/blueshift-deploy/blueshift/health"
)

// smokePhase runs the smoke suite against the next colour directly.
type smokePhase struct{ e *Engine }

func (smokePhase) Name() string { return PhaseSmoke }

func (p smokePhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if len(e.Env.Smoke.Endpoints) == 0 {
		d.Progress("no smoke endpoints configured")
		return nil
	}
	base, err := e.ColourURL(d.Next, e.Env.Health.Backend.Service)
	if err != nil {
		return err
	}
	var rep health.SmokeReport
	err = bounded(ctx, e.field("smoke.timeout"), e.Env.Smoke.Timeout, func(ctx context.Context) (err error) {
		rep, err = e.smokeSuite(base, publicHost(e.Env.PublicURL)).Run(ctx)
		return err
	})
	d.Progress("\n" + rep.Table())
	if err != nil {
		d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
		return err
	}
	d.AddFact("smoke", fmt.Sprintf("%d endpoints passed in %s", len(rep.Results), rep.Elapsed.Round(time.Millisecond)))
	return nil
}

func (p smokePhase) Plan(_ context.Context, d *Deployment) (string, error) {
	return fmt.Sprintf("request %d endpoints on %s's own port", len(p.e.Env.Smoke.Endpoints), d.Next), nil
}

// smokeSuite is the smoke suite against base (a colour's port or the public URL).
func (e *Engine) smokeSuite(base, hostHeader string) health.Suite {
	var eps []health.Endpoint
	for _, ep := range e.Env.Smoke.Endpoints {
		eps = append(eps, health.Endpoint{Path: ep.Path, Expect: ep.Expect})
	}
	return health.Suite{BaseURL: base, Host: hostHeader, Endpoints: eps, Concurrency: e.Env.Smoke.Concurrency, Dialer: e.Host}
}

func publicHost(public string) string {
	if public == "" {
		return ""
	}
	u, err := url.Parse(public)
	if err != nil {
		return ""
	}
	return u.Host
}
