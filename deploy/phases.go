package deploy

import (
	"context"
	"errors"
	"fmt"
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
		Actor: notify.ActorFromEnv(e.Getenv), Reason: e.Getenv("DEPLOY_REASON"), Commit: e.Getenv("GITHUB_SHA"),
		TestsSkipped: e.Getenv("SKIP_TESTS") == "true", Logger: e.Logger, Values: map[string]any{},
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
		e.Logger.Warn("state and proxy disagree on the live colour; the proxy wins", "state", st.Live, "proxy", c)
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

// ensureServing starts colour c if it is stopped and waits for its backend
// check (a short policy: it ran minutes ago).
func (e *Engine) ensureServing(ctx context.Context, d *Deployment, c version.Colour) error {
	running, err := e.colourRunning(ctx, c)
	if err != nil {
		return err
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
	for _, p := range probes {
		pol := health.Policy{Attempts: 60, Interval: 500 * time.Millisecond, AttemptTimeout: 5 * time.Second, Timeout: 2 * time.Minute, Classify: classifyHealth}
		if _, err := health.Wait(ctx, p, pol, nil); err != nil {
			return fmt.Errorf("%s is not healthy: %w", c, err)
		}
	}
	return nil
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
// the switch may have happened, and the switch phase's mark carries them);
// the phase itself is for people (status, the history entry), who want to
// know whether the run died waiting for health or at the switch.
func (e *Engine) markPhase(ctx context.Context, d *Deployment, phase string) {
	if d.Lock == nil || !markedPhase[phase] {
		return
	}
	_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) {
		s.InFlight.Phase = phase
		s.InFlight.Release = d.Release
	})
	if err != nil && !errors.Is(err, state.ErrNotOwner) {
		e.Logger.Warn("could not record phase", "phase", phase, "err", err)
	}
}

// markedPhase are the phases whose start markPhase records: health (the
// long wait, after start: the record then holds the release's images) and
// switch (from here the proxy may serve the new colour).
var markedPhase = map[string]bool{PhaseHealth: true, PhaseSwitch: true}

// holder names who runs d, for the in-flight record.
func holder(d *Deployment) string {
	if d.Lock != nil {
		return d.Lock.Holder
	}
	return d.Actor
}
