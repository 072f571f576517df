package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
)

// verifyPhase watches the new colour for the monitor window against the
// error budget; exceeding it fails at once (and the pipeline rolls back).
type verifyPhase struct{ e *Engine }

func (verifyPhase) Name() string { return PhaseVerify }

func (p verifyPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if err := e.publicSmoke(ctx, d); err != nil {
		return err
	}
	m := e.Env.Monitor
	if m.Window <= 0 {
		return nil
	}
	probe, err := e.monitorProbe(d.Next)
	if err != nil {
		return err
	}
	// A check may take as long as a health attempt (health.backend.attempt_timeout),
	// even when checks are more frequent than that: a slow answer is not an error.
	mon := health.Monitor{Probe: probe, Window: m.Window, Interval: m.Interval, MaxErrors: m.MaxErrors,
		Timeout: max(m.Interval, e.Env.Health.Backend.AttemptTimeout),
		OnTick: func(t health.Tick) {
			d.Progress(fmt.Sprintf("check %d: %d errors of %d allowed", t.N, t.Errors, m.MaxErrors))
		}}
	sum, err := mon.Run(ctx)
	d.Monitor = &sum
	d.AddFact("monitor", fmt.Sprintf("%d checks, %d errors, p50 %s p99 %s", sum.Checks, sum.Errors, sum.P50.Round(time.Millisecond), sum.P99.Round(time.Millisecond)))
	if err != nil {
		d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
		return err
	}
	return nil
}

func (p verifyPhase) Plan(context.Context, *Deployment) (string, error) {
	e := p.e
	m := e.Env.Monitor
	watch := fmt.Sprintf("watch for %s, every %s, failing after more than %d errors", m.Window, m.Interval, m.MaxErrors)
	if e.Env.PublicURL != "" && len(e.Env.Smoke.Endpoints) > 0 {
		watch = fmt.Sprintf("request %d smoke endpoints on %s, then %s", len(e.Env.Smoke.Endpoints), e.Env.PublicURL, watch)
	}
	return watch, nil
}

// publicSmoke runs the smoke suite on the public URL after the switch:
// every path through the proxy, reached from this machine as users reach
// it (the smoke phase checked each service's own port before the switch).
// Without a public URL or endpoints there is nothing to run.
func (e *Engine) publicSmoke(ctx context.Context, d *Deployment) error {
	if e.Env.PublicURL == "" || len(e.Env.Smoke.Endpoints) == 0 {
		return nil
	}
	rep, err := e.runSmoke(ctx, d, "")
	if err != nil {
		return fmt.Errorf("after the switch, on %s: %w", e.Env.PublicURL, err)
	}
	d.AddFact("public smoke", fmt.Sprintf("%d endpoints passed on %s in %s", len(rep.Results), e.Env.PublicURL, rep.Elapsed.Round(time.Millisecond)))
	return nil
}

// monitorProbe is what the stability monitor watches: the backend health
// endpoint through the public URL, or the live colour's port.
func (e *Engine) monitorProbe(c version.Colour) (health.Probe, error) {
	chk := e.Env.Health.Backend
	path := chk.URL
	if isAbsURL(path) {
		return httpProbe("", path, chk, "", e.Host), nil
	}
	if e.Env.PublicURL != "" {
		return httpProbe("", strings.TrimRight(e.Env.PublicURL, "/")+path, chk, "", nil), nil
	}
	base, err := e.ColourURL(c, chk.Service)
	if err != nil {
		return nil, err
	}
	return httpProbe("", base+path, chk, "", e.Host), nil
}
