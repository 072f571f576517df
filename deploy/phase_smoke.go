package deploy

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/version"
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
	rep, err := e.runSmoke(ctx, d, d.Next)
	if err != nil {
		return err
	}
	d.AddFact("smoke", fmt.Sprintf("%d endpoints passed in %s", len(rep.Results), rep.Elapsed.Round(time.Millisecond)))
	return nil
}

// runSmoke runs smokeSuite(c) within smoke.timeout and shows its table; on
// failure it keeps the next colour's logs for the summary.
func (e *Engine) runSmoke(ctx context.Context, d *Deployment, c version.Colour) (health.SmokeReport, error) {
	suite, err := e.smokeSuite(c)
	if err != nil {
		return health.SmokeReport{}, err
	}
	var rep health.SmokeReport
	err = bounded(ctx, e.field("smoke.timeout"), e.Env.Smoke.Timeout, func(ctx context.Context) (err error) {
		rep, err = suite.Run(ctx)
		return err
	})
	d.Progress("\n" + rep.Table())
	if err != nil {
		d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
	}
	return rep, err
}

func (p smokePhase) Plan(_ context.Context, d *Deployment) (string, error) {
	return fmt.Sprintf("request %d endpoints on %s's own ports", len(p.e.Env.Smoke.Endpoints), d.Next), nil
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
