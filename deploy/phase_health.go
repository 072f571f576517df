package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
)

// healthPhase waits until the next colour passes every configured check.
type healthPhase struct{ e *Engine }

func (healthPhase) Name() string { return PhaseHealth }

func (p healthPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	probes, policies, err := e.healthChecks(d.Next)
	if err != nil {
		return err
	}
	for i, p := range probes {
		rep, err := health.Wait(ctx, p, policies[i], func(a health.Attempt) {
			d.Progress(fmt.Sprintf("%s: attempt %d/%d: %s", p.Name(), a.N, policies[i].Attempts, attemptText(a)))
		})
		if err != nil {
			d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
			return fmt.Errorf("%s is not healthy: %w", d.Next, err)
		}
		d.AddFact("health "+p.Name(), fmt.Sprintf("healthy after %d attempt(s), %s", len(rep.Attempts), rep.Elapsed.Round(time.Millisecond)))
	}
	return nil
}

func (p healthPhase) Plan(_ context.Context, d *Deployment) (string, error) {
	probes, _, err := p.e.healthChecks(d.Next)
	if err != nil {
		return "ERROR: " + err.Error(), nil
	}
	names := make([]string, len(probes))
	for i, p := range probes {
		names[i] = p.Name()
	}
	return "wait for " + strings.Join(names, ", "), nil
}

// healthChecks are the checks of the next colour's own ports (never the
// public URL: before the switch that only proves the old colour is up).
func (e *Engine) healthChecks(c version.Colour) ([]health.Probe, []health.Policy, error) {
	var probes []health.Probe
	var policies []health.Policy
	for _, chk := range []HTTPCheck{e.Env.Health.Backend, e.Env.Health.Frontend} {
		if !chk.Enabled() {
			continue
		}
		u := chk.URL
		if !isAbsURL(u) {
			base, err := e.ColourURL(c, chk.Service)
			if err != nil {
				return nil, nil, err
			}
			u = base + u
		}
		probes = append(probes, httpProbe(chk.Service+" "+u, u, chk, publicHost(e.Env.PublicURL), e.Host))
		policies = append(policies, health.Policy{Attempts: chk.Attempts, Interval: chk.Interval, Timeout: chk.Timeout, AttemptTimeout: chk.AttemptTimeout, Classify: classifyHealth})
	}
	one := health.Policy{Attempts: 3, Interval: 2 * time.Second, AttemptTimeout: 5 * time.Second, Classify: classifyHealth}
	for _, p := range e.containerChecks(c) {
		probes = append(probes, p)
		policies = append(policies, health.Policy{Attempts: 3, Interval: 2 * time.Second, AttemptTimeout: time.Minute, Classify: classifyHealth})
	}
	if dsn := e.Env.Health.Postgres.DSN; dsn != "" {
		probes = append(probes, &health.PostgresProbe{URL: dsn.Reveal(), Dialer: e.Host})
		policies = append(policies, one)
	}
	if r := e.Env.Health.Redis; r.Addr != "" {
		probes = append(probes, &health.RedisProbe{Addr: r.Addr, Password: r.Password.Reveal(), Dialer: e.Host})
		policies = append(policies, one)
	}
	return probes, policies, nil
}

// classifyHealth is how the deployment's health checks count an attempt:
// as health.DefaultClassify, except that a lost connection to the host
// aborts the wait at once (the connection does not come back, so waiting
// out the attempts would only delay the failure).
func classifyHealth(o health.Observation) health.Verdict {
	if errors.Is(o.Err, host.ErrConnectionLost) {
		return health.Abort
	}
	return health.DefaultClassify(o)
}

func attemptText(a health.Attempt) string {
	if a.Err != nil {
		return a.Err.Error()
	}
	return fmt.Sprintf("%s in %s", a.Detail, a.Latency.Round(time.Millisecond))
}
