package deploy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
	"github.com/blueshift-deploy/blueshift/notify"
)

// field is the full path of a field of this engine's environment, for
// messages ("environments.production.tests.timeout").
func (e *Engine) field(path string) string { return "environments." + e.Env.Name + "." + path }

// bounded runs fn with ctx bounded by limit (zero: unbounded). When the
// bound, not ctx, cut fn short, the error names the field that sets it, so
// the fix is in the message.
func bounded(ctx context.Context, field string, limit time.Duration, fn func(context.Context) error) error {
	if limit <= 0 {
		return fn(ctx)
	}
	bctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := fn(bctx)
	if err != nil && ctx.Err() == nil && bctx.Err() != nil {
		return fmt.Errorf("%s (%s) exceeded: %w", field, limit, err)
	}
	return err
}

// NewDeployment describes deploying v to this engine's environment now.
func (e *Engine) NewDeployment(v version.Version) *Deployment {
	now := time.Now().UTC()
	d := &Deployment{
		Environment: e.Env.Name, Version: v, ID: version.DeploymentID(e.Env.Name, v, now),
		Actor: notify.ActorFromEnv(e.getenv), Reason: e.getenv("DEPLOY_REASON"), Commit: e.getenv("GITHUB_SHA"),
		TestsSkipped: e.getenv("SKIP_TESTS") == "true", Logger: e.logger, Values: map[string]any{},
	}
	return d
}

func orNone(s string) string {
	if s == "" {
		return "none (first deployment)"
	}
	return s
}

// liveColour is the colour the proxy sends traffic to (the proxy's view
// wins over state's), or state's record without a proxy.
func (e *Engine) liveColour(ctx context.Context, st state.State) (version.Colour, error) {
	c, err := e.proxyLive(ctx, st)
	if err != nil {
		return "", fmt.Errorf("read live colour from the proxy: %w", err)
	}
	if st.Live != "" && c.Valid() && st.Live != string(c) {
		e.logger.Warn("state and proxy disagree on the live colour; the proxy wins", "state", st.Live, "proxy", c)
	}
	return c, nil
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// ensureServing starts colour c if it is stopped and waits for its health
// checks, each under servingPolicy of the backend check (a short policy: it
// ran minutes ago).
func (e *Engine) ensureServing(ctx context.Context, d *Deployment, c version.Colour) error {
	// A warm standby was found running by rollback-prepare a moment ago:
	// asking Docker again would be one more round trip before the switch.
	running := d.warm && c == d.Next
	if !running {
		var err error
		if running, err = e.colourRunning(ctx, c); err != nil {
			return err
		}
	}
	if !running {
		d.Progress("starting " + string(c))
		if err := e.startColour(ctx, c); err != nil {
			return err
		}
	}
	probes, _, err := e.healthChecks(c)
	if err != nil {
		return err
	}
	pol := servingPolicy(checkPolicy(e.Env.Health.Backend))
	for _, p := range probes {
		if _, err := health.Wait(ctx, p, pol, nil); err != nil {
			return fmt.Errorf("%s is not healthy: %w", c, err)
		}
	}
	return nil
}

// checkPolicy is the wait policy of check c.
func checkPolicy(c HTTPCheck) health.Policy {
	return health.Policy{Attempts: c.Attempts, Interval: c.Interval, Timeout: c.Timeout, AttemptTimeout: c.AttemptTimeout, Classify: classifyHealth}
}

// Bounds of servingPolicy: at most 60 x 500 ms, attempts of at most 5 s,
// at most 2 minutes in all.
const (
	servingInterval       = 500 * time.Millisecond
	servingAttempts       = 60
	servingAttemptTimeout = 5 * time.Second
	servingTimeout        = 2 * time.Minute
)

// servingPolicy is check policy p (the environment's backend check's) for
// a colour that served minutes ago (a rollback, an undo switching back):
// the span of waiting p gives a fresh colour (attempts x interval), at
// most 30 s, checked at least every 500 ms, each attempt at most 5 s, all
// within at most 2 minutes. Under the default backend policy (30 x 10 s)
// that is 60 x 500 ms; a configuration with shorter checks (a test's)
// gets them.
func servingPolicy(p health.Policy) health.Policy {
	iv, span := servingInterval, servingAttempts*servingInterval
	if p.Interval > 0 {
		iv = min(p.Interval, iv)
		if p.Attempts > 0 {
			span = min(span, time.Duration(p.Attempts)*p.Interval)
		}
	}
	at, to := servingAttemptTimeout, servingTimeout
	if p.AttemptTimeout > 0 {
		at = min(at, p.AttemptTimeout)
	}
	if p.Timeout > 0 {
		to = min(to, p.Timeout)
	}
	return health.Policy{Attempts: max(1, int(span/iv)), Interval: iv, AttemptTimeout: at, Timeout: to, Classify: p.Classify}
}

// errNoRelease is the record phases' error for a run whose outcome would
// make its release current when it has none (a phase of its own set the
// outcome before prepare or start filled Release): state is left alone.
func errNoRelease(d *Deployment) error {
	return fmt.Errorf("record: outcome %s but deployment %s has no release to make current; state was not changed", d.Outcome, d.ID)
}

// stillHeld reports whether d holds its lock and has not lost it: only
// then may the run clear its own in-flight record (a lost lock leaves the
// record for the next holder to reconcile).
func stillHeld(d *Deployment) bool {
	if d.held == nil {
		return false
	}
	select {
	case <-d.held.Lost():
		return false
	default:
		return true
	}
}

// notOwned turns state.ErrNotOwner from a run's own state update into the
// error the run reports (its lock was taken from it, and another run's
// state is left alone); nil for any other error.
func notOwned(err error) error {
	if errors.Is(err, state.ErrNotOwner) {
		return fmt.Errorf("state not updated: the lock was taken from this run (lock:release -force?) and state is another run's: %w", err)
	}
	return nil
}

func (e *Engine) historyEntry(d *Deployment, kind string) state.Entry {
	ent := state.Entry{
		Kind: kind, DeploymentID: d.ID, Version: d.Version.String(), Actor: d.Actor, Reason: d.Reason,
		TestsSkipped: d.TestsSkipped, Automatic: d.Outcome == OutcomeRolledBack, Logs: e.redact(d.Logs),
		Phases: map[string]float64{},
	}
	if d.Previous != nil {
		ent.FromVersion = d.Previous.Version
	}
	switch d.Outcome {
	case OutcomeSucceeded:
		ent.Outcome, ent.Colour = state.OutcomeSucceeded, string(d.Next)
	case OutcomeRolledBack:
		ent.Outcome, ent.Colour = state.OutcomeRolledBack, string(d.Live)
	default:
		ent.Outcome, ent.Colour = state.OutcomeFailed, string(d.Live)
	}
	if d.Outcome == OutcomeRollbackFailed {
		ent.Outcome = "rollback-failed"
		if d.leftServing {
			ent.Colour = string(d.Next)
		}
	}
	if d.Failure != nil {
		ent.Phase, ent.Error = d.Failure.Phase, e.redact(d.Failure.Err.Error())
	}
	if d.Attention != "" {
		ent.Error += "; " + d.Attention
	}
	for _, p := range d.Report.Phases {
		if !p.Undo && p.Outcome != PhaseSkipped {
			ent.Phases[p.Name] = p.Duration.Seconds()
		}
	}
	ent.Duration = time.Since(d.Report.Started).Seconds()
	return ent
}

// markPhase records the phase (and what is known of the release so far) in
// the in-flight record, so a run that finds it after a crash knows how far
// this one got. The engine's pipelines run it as each phase starts
// (Pipeline.BeforePhase).
// Before the run holds the lock it writes nothing (state belongs to the
// lock's holder, and a refused rollback must change nothing).
//
// It writes only at the boundaries that matter (markedPhase): each write
// is a remote command, and over SSH one costs a round trip and a login
// shell. Reconcile decides on the record's Kind, From, To and Release
// (the release's images, known once start has run, are needed only once
// the switch may have happened, and the health phase's mark carries them);
// the phase itself is for people (status, the history entry).
func (e *Engine) markPhase(ctx context.Context, d *Deployment, phase string) {
	if d.Lock == nil || !markedPhase[phase] || d.recorded != nil {
		// (A rollback to a warm standby writes its record beside the
		// health check, with everything the mark would add.)
		return
	}
	if st, err := e.Store.Known(ctx); err == nil && st.InFlight != nil && st.InFlight.DeploymentID == d.ID &&
		st.InFlight.Release != nil && reflect.DeepEqual(st.InFlight.Release, d.Release) {
		// Nothing reconcile needs has changed (a rollback records its
		// release as it starts): no write, no remote command.
		return
	}
	_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) {
		s.InFlight.Phase = phase
		s.InFlight.Release = d.Release
	})
	if err != nil && !errors.Is(err, state.ErrNotOwner) {
		e.logger.Warn("could not record phase", "phase", phase, "err", err)
	}
}

// markedPhase are the phases whose start markPhase records: health (the
// long wait, after start: the record then holds the release's images).
// The switch is not marked: it is one remote command on the way to the
// proxy serving the new colour (two more made it three), and reconcile
// decides on the proxy's view and the record's From and To, which the
// health mark already holds; a run killed at the switch shows "health".
var markedPhase = map[string]bool{PhaseHealth: true}

// holder names who runs d, for the in-flight record.
func holder(d *Deployment) string {
	if d.Lock != nil {
		return d.Lock.Holder
	}
	return d.Actor
}
