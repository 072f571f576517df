package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
	"github.com/blueshift-deploy/blueshift/notify"
)

// Phase names of the standard pipeline, in order.
const (
	PhaseLock      = "lock"
	PhasePrepare   = "prepare"
	PhasePreflight = "preflight"
	PhaseTest      = "test"
	PhaseBackup    = "backup"
	PhaseStart     = "start"
	PhaseMigrate   = "migrate"
	PhaseHealth    = "health"
	PhaseSmoke     = "smoke"
	PhaseSwitch    = "switch"
	PhaseVerify    = "verify"
	PhaseRetire    = "retire"
	PhaseRecord    = "record"
	PhaseNotify    = "notify"
	PhaseUnlock    = "unlock"
)

// Pipeline returns the standard deployment pipeline of this engine:
// lock, prepare, preflight, test, backup, start, migrate, health, smoke,
// switch, verify, retire, record, notify, unlock.
func (e *Engine) Pipeline() *Pipeline {
	p := NewPipeline(
		&Func{PhaseName: PhaseLock, RunFunc: e.lock, UndoFunc: nil},
		&Func{PhaseName: PhasePrepare, RunFunc: e.prepare},
		&Func{PhaseName: PhasePreflight, RunFunc: e.preflight},
		&Func{PhaseName: PhaseTest, RunFunc: e.test},
		&Func{PhaseName: PhaseBackup, RunFunc: e.backup},
		&Func{PhaseName: PhaseStart, RunFunc: e.start, UndoFunc: e.undoStart},
		&Func{PhaseName: PhaseMigrate, RunFunc: e.migrate},
		&Func{PhaseName: PhaseHealth, RunFunc: e.health},
		&Func{PhaseName: PhaseSmoke, RunFunc: e.smoke},
		&Func{PhaseName: PhaseSwitch, RunFunc: e.switchTraffic, UndoFunc: e.undoSwitch},
		&Func{PhaseName: PhaseVerify, RunFunc: e.verify},
		&Func{PhaseName: PhaseRetire, RunFunc: e.retire, UndoFunc: e.undoRetire},
		&Func{PhaseName: PhaseRecord, RunFunc: e.record, Final: true},
		&Func{PhaseName: PhaseNotify, RunFunc: e.notifyOutcome, Final: true},
		&Func{PhaseName: PhaseUnlock, RunFunc: e.unlock, Final: true},
	)
	// Undo keeps the pipeline's own budget (10m): the deadline may have
	// just passed, and a rollback must not be cut short by it.
	p.Deadline = e.Env.Timeouts.Deployment
	return p
}

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
	d.onPhase = func(ctx context.Context, phase string) { e.markPhase(ctx, d, phase) }
	return d
}

// lock takes the deploy lock, then reconciles a run that died holding it.
func (e *Engine) lock(ctx context.Context, d *Deployment) error {
	return e.takeLock(ctx, d, state.KindDeploy)
}

// takeLock takes the deploy lock for d and, holding it, reconciles an
// interrupted run (a dead holder's lock taken over, or a deployment left in
// flight). The lock is released by the unlock phase, which always runs.
func (e *Engine) takeLock(ctx context.Context, d *Deployment, kind string) error {
	l := state.NewLock(kind, d.Version.String(), d.ID, d.Reason)
	held, err := e.Store.Acquire(ctx, l)
	if err != nil {
		return err
	}
	d.Lock, d.held = &held.Lock, held
	e.runEnv = &envFileCache{}
	go func() {
		// Losing the lock mid-run stops the run (Deployment.Abort does
		// nothing once the final phases, unlock among them, have started).
		<-held.Lost()
		d.Abort(fmt.Errorf("%w: %w", state.ErrLockLost, held.Err()))
	}()
	rec, err := e.reconcileHeld(ctx, held)
	if err != nil {
		return err
	}
	if rec != nil {
		d.Warn("reconciled an interrupted run first: " + strings.Join(rec.Actions, "; "))
	}
	return nil
}

// unlock clears this run's in-flight record (only its own) and releases the
// lock this run holds (only its own: the host-side session that holds it
// removes it).
//
// A run whose record phase wrote state has already cleared the record in
// that write (see record): then state as the store knows it (Store.Known,
// no remote command) holds no in-flight record of this run and unlock
// writes nothing, saving a remote command (a session over SSH).
func (e *Engine) unlock(ctx context.Context, d *Deployment) error {
	if d.held == nil {
		return nil
	}
	e.runEnv = nil
	if !stillHeld(d) {
		// The lock was taken away (or its session died): the in-flight
		// record stays for the run that holds the lock next to reconcile.
		return d.held.Release(ctx)
	}
	if st, err := e.Store.Known(ctx); err == nil && (st.InFlight == nil || st.InFlight.DeploymentID != d.ID) {
		// Already cleared (by record), or another run's: nothing to write.
		return d.held.Release(ctx)
	}
	_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) { s.InFlight = nil })
	if err != nil && !errors.Is(err, state.ErrNotOwner) {
		return errors.Join(err, d.held.Release(ctx))
	}
	return d.held.Release(ctx)
}

// prepare finds the live colour (the proxy's view wins over state), picks
// the next one, records the deployment as in flight and writes the release
// notes.
func (e *Engine) prepare(ctx context.Context, d *Deployment) error {
	// Read under the lock by the lock phase's reconcile: no second read.
	st, err := e.Store.Known(ctx)
	if err != nil {
		return err
	}
	live, err := e.liveColour(ctx, st)
	if err != nil {
		return err
	}
	if live.Valid() && st.Current == nil {
		// A proxy set up to point at a colour nothing was deployed to yet:
		// this is the first deployment.
		if running, err := e.colourRunning(ctx, live); err == nil && !running {
			live = ""
		}
	}
	d.Live = live
	d.Next = version.Blue
	if live.Valid() {
		d.Next = live.Other()
	}
	d.Previous = st.Current
	if d.Previous != nil && d.Previous.Version == d.Version.String() && d.Previous.Colour == string(live) {
		d.Warn(fmt.Sprintf("%s is already live; deploying it again as %s", d.Version, d.Next))
	}
	if d.Commit == "" {
		if out, err := host.Output(ctx, host.NewLocal(), "git", "rev-parse", "HEAD"); err == nil {
			d.Commit = strings.TrimSpace(string(out))
		}
	}
	d.Release = &state.Release{Version: d.Version.String(), Colour: string(d.Next), DeploymentID: d.ID, Commit: d.Commit}
	e.releaseNotes(ctx, d)
	if d.TestsSkipped {
		d.Warn("SKIP_TESTS=true: the test suite will not run (emergency path); this is recorded in history and notifications")
	}
	_, err = e.Store.Update(ctx, func(s *state.State) {
		s.App = e.App
		s.InFlight = &state.InFlight{Kind: state.KindDeploy, DeploymentID: d.ID, Version: d.Version.String(),
			From: string(d.Live), To: string(d.Next), Phase: PhasePrepare, Started: time.Now().UTC(), Holder: holder(d)}
	})
	if err != nil {
		return err
	}
	d.AddFact("live colour", orNone(string(d.Live)))
	d.AddFact("next colour", string(d.Next))
	e.notifyStarted(ctx, d)
	return nil
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

// test runs the app's test command where blueshift runs (CI), unless
// SKIP_TESTS=true.
func (e *Engine) test(ctx context.Context, d *Deployment) error {
	if d.TestsSkipped {
		d.Progress("skipped (SKIP_TESTS=true)")
		return nil
	}
	t := e.Env.Tests
	if len(t.Command) == 0 {
		d.Progress("no tests.command configured")
		return nil
	}
	dir := t.Dir
	if !filepath.IsAbs(dir) && e.ComposeDir != "" {
		dir = filepath.Join(e.ComposeDir, dir)
	}
	d.Progress("running " + strings.Join(t.Command, " "))
	out := &lineWriter{emit: func(line string) { d.Progress(e.redact(line)) }}
	err := bounded(ctx, e.field("tests.timeout"), t.Timeout, func(ctx context.Context) error {
		return host.NewLocal().Run(ctx, host.Cmd{Argv: t.Command, Dir: dir, Env: e.testEnv(), ClearEnv: true, Stdout: out, Stderr: out})
	})
	out.flush()
	if err != nil {
		d.Logs = e.redact(tail(out.all.String(), 30))
		// The error carries the tail of the suite's stderr: mask it too.
		return RedactError(fmt.Errorf("test suite failed (%s): %w; fix the tests, or in an emergency deploy with SKIP_TESTS=true", strings.Join(t.Command, " "), err), e.redact)
	}
	return nil
}

// testEnv is the whole environment of the test command: the variables of
// TestEnvAllowed and tests.env that are set, and nothing else (blueshift's
// own environment holds the deployment's secrets).
func (e *Engine) testEnv() []string {
	var env []string
	seen := map[string]bool{}
	for _, k := range append(slices.Clone(TestEnvAllowed), e.Env.Tests.Env...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		if v := e.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// start brings the next colour up beside the live one.
func (e *Engine) start(ctx context.Context, d *Deployment) error {
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
	return nil
}

// undoStart removes the next colour, unless the proxy still serves it
// (the switch back failed): then it stays running (see guardServing).
func (e *Engine) undoStart(ctx context.Context, d *Deployment) error {
	if d.Logs == "" {
		d.Logs = e.colourLogs(ctx, d.Next, 30)
	}
	if err := e.guardServing(ctx, d); err != nil {
		return err
	}
	return e.removeColour(ctx, d.Next)
}

// migrate runs the migration and the after-start hooks in the next colour.
func (e *Engine) migrate(ctx context.Context, d *Deployment) error {
	h := e.Env.Hooks
	run := func(service string, argv []string, field string, limit time.Duration) error {
		d.Progress(fmt.Sprintf("%s: %s", service, strings.Join(argv, " ")))
		var out string
		err := bounded(ctx, e.field(field), limit, func(ctx context.Context) (err error) {
			out, err = e.execInColour(ctx, d.Next, service, argv)
			return err
		})
		if err != nil {
			d.Logs = tail(out, 30)
			return fmt.Errorf("%s in %s (%s): %w", strings.Join(argv, " "), service, d.Next, err)
		}
		return nil
	}
	if len(h.Migrate) > 0 {
		if err := run(h.MigrateService, h.Migrate, "hooks.migrate_timeout", h.MigrateTimeout); err != nil {
			return err
		}
	}
	for i, c := range h.AfterStart {
		if err := run(c.Service, c.Command, fmt.Sprintf("hooks.after_start[%d].timeout", i), c.Timeout); err != nil {
			return err
		}
	}
	return nil
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
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
		probes = append(probes, &health.HTTPProbe{Label: chk.Service + " " + u, URL: u, Expect: chk.Expect, Host: publicHost(e.Env.PublicURL), Dialer: e.Host})
		policies = append(policies, health.Policy{Attempts: chk.Attempts, Interval: chk.Interval, Timeout: chk.Timeout, AttemptTimeout: chk.AttemptTimeout, Classify: classifyHealth})
	}
	one := health.Policy{Attempts: 3, Interval: 2 * time.Second, AttemptTimeout: 5 * time.Second, Classify: classifyHealth}
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

// health waits until the next colour passes every configured check.
func (e *Engine) health(ctx context.Context, d *Deployment) error {
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

// smokeSuite is the smoke suite against base (a colour's port or the public URL).
func (e *Engine) smokeSuite(base, hostHeader string) health.Suite {
	var eps []health.Endpoint
	for _, ep := range e.Env.Smoke.Endpoints {
		eps = append(eps, health.Endpoint{Path: ep.Path, Expect: ep.Expect})
	}
	return health.Suite{BaseURL: base, Host: hostHeader, Endpoints: eps, Concurrency: e.Env.Smoke.Concurrency, Dialer: e.Host}
}

// smoke runs the smoke suite against the next colour directly.
func (e *Engine) smoke(ctx context.Context, d *Deployment) error {
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

// switchTraffic moves the proxy to the next colour and, when the public URL
// and a colour header are configured, checks that it answers from there.
func (e *Engine) switchTraffic(ctx context.Context, d *Deployment) error {
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

// undoSwitch sends traffic back to the old colour, started and checked first.
func (e *Engine) undoSwitch(ctx context.Context, d *Deployment) error {
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

// monitorProbe is what the stability monitor watches: the backend health
// endpoint through the public URL, or the live colour's port.
func (e *Engine) monitorProbe(c version.Colour) (health.Probe, error) {
	chk := e.Env.Health.Backend
	path := chk.URL
	if isAbsURL(path) {
		return &health.HTTPProbe{URL: path, Expect: chk.Expect, Dialer: e.Host}, nil
	}
	if e.Env.PublicURL != "" {
		return &health.HTTPProbe{URL: strings.TrimRight(e.Env.PublicURL, "/") + path, Expect: chk.Expect}, nil
	}
	base, err := e.ColourURL(c, chk.Service)
	if err != nil {
		return nil, err
	}
	return &health.HTTPProbe{URL: base + path, Expect: chk.Expect, Dialer: e.Host}, nil
}

// verify watches the new colour for the monitor window against the error
// budget; exceeding it fails at once (and the pipeline rolls back).
func (e *Engine) verify(ctx context.Context, d *Deployment) error {
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
	d.AddFact("monitor", fmt.Sprintf("%d checks, %d errors, p50 %s p99 %s", sum.Checks, sum.Errors, sum.P50.Round(time.Millisecond), sum.P99.Round(time.Millisecond)))
	if err != nil {
		d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
		return err
	}
	return nil
}

// retire drains the old colour, then stops it; its containers are kept for
// an instant rollback.
func (e *Engine) retire(ctx context.Context, d *Deployment) error {
	if !d.Live.Valid() || d.Live == d.Next {
		return nil
	}
	if drain := e.Env.Timeouts.Drain; drain > 0 {
		d.Progress(fmt.Sprintf("draining %s for %s", d.Live, drain))
		select {
		case <-time.After(drain):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return e.stopColour(ctx, d.Live)
}

func (e *Engine) undoRetire(ctx context.Context, d *Deployment) error {
	if !d.Live.Valid() || d.Live == d.Next {
		return nil
	}
	return e.startColour(ctx, d.Live)
}

// record writes the outcome into state and history. A release left
// serving by a failed undo (see guardServing) becomes the current one in
// state, because it is what the proxy serves: a rollback then returns to
// the release before it. State is written only while it is this run's
// (its deployment is the one in flight), and that write clears the
// in-flight record too unless the lock was lost; history always.
func (e *Engine) record(ctx context.Context, d *Deployment) error {
	now := time.Now().UTC()
	var owned error
	if d.Outcome == OutcomeSucceeded || d.leftServing {
		d.Release.DeployedAt = now
		clearInFlight := stillHeld(d)
		_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) {
			s.App = e.App
			s.Live = string(d.Next)
			if s.Current != nil && s.Current.Version != "" {
				s.Previous = s.Current
			}
			s.Current = d.Release
			if clearInFlight {
				// The run's outcome is in state: its in-flight record is
				// cleared in this same write, so unlock needn't write again
				// (one remote command fewer). A lost lock keeps the record
				// for the next holder to reconcile, as unlock does.
				s.InFlight = nil
			}
		})
		if owned = notOwned(err); owned == nil && err != nil {
			return err
		}
	}
	return errors.Join(owned, e.Store.Append(ctx, e.historyEntry(d, state.KindDeploy)))
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
// this one got. The engine's deployments call it as each phase starts.
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

func attemptText(a health.Attempt) string {
	if a.Err != nil {
		return a.Err.Error()
	}
	return fmt.Sprintf("%s in %s", a.Detail, a.Latency.Round(time.Millisecond))
}

// holder names who runs d, for the in-flight record.
func holder(d *Deployment) string {
	if d.Lock != nil {
		return d.Lock.Holder
	}
	return d.Actor
}

// lineWriter turns a command's output into one progress message a line,
// keeping everything for the failure report. It is safe for concurrent
// use: a command's stdout and stderr are copied into it by two goroutines.
type lineWriter struct {
	emit    func(string)
	mu      sync.Mutex
	pending []byte
	all     strings.Builder
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(string(w.pending[:i]))
		w.pending = w.pending[i+1:]
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		w.emit(string(w.pending))
		w.pending = nil
	}
}
