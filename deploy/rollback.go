package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/notify"
)

// ErrNoPrevious is returned by a rollback with no earlier release recorded.
var ErrNoPrevious = errors.New("no previous release to roll back to")

// ErrNeverLive is wrapped by the refusal of `rollback -to=VERSION` when
// VERSION was never live in the environment: a rollback returns to a
// release that served before, and anything else is a deployment.
var ErrNeverLive = errors.New("never live")

// Rollback phase names.
const (
	PhaseRollbackCheck   = "rollback-check"
	PhaseRollbackPrepare = "rollback-prepare"
	PhaseRollbackStart   = "rollback-start"
)

// RollbackPipeline returns the pipeline of a manual rollback: the kept old
// colour is started (or, for an older release, rendered and started), checked,
// switched to, and the current colour stopped and kept. to is the version to
// return to; empty means the previous release.
//
// With to set, the pipeline starts with rollback-check, which refuses (before
// taking the lock, so nothing changes and nobody is notified) a version that
// was never live: one state records as current or previous, or that history
// records a succeeded deployment or rollback of. A version older than the
// previous release (its containers are gone, its data may have moved on)
// also goes through preflight, smoke and the post-switch monitor (verify),
// as a deployment does; returning to the previous release skips them.
func (e *Engine) RollbackPipeline(to string) *Pipeline {
	var phases []Phase
	if to != "" {
		phases = append(phases, &Func{PhaseName: PhaseRollbackCheck, RunFunc: func(ctx context.Context, d *Deployment) error {
			st, err := e.Store.Load(ctx)
			if err != nil {
				return err
			}
			_, err = e.checkRollbackTo(ctx, st, to)
			return err
		}})
	}
	phases = append(phases,
		&Func{PhaseName: PhaseLock, RunFunc: e.lockFor(state.KindRollback)},
		&Func{PhaseName: PhaseRollbackPrepare, RunFunc: func(ctx context.Context, d *Deployment) error { return e.prepareRollback(ctx, d, to) }},
	)
	if to != "" {
		phases = append(phases, &Func{PhaseName: PhasePreflight, RunFunc: furtherBackOnly(e.preflight)})
	}
	phases = append(phases,
		&Func{PhaseName: PhaseRollbackStart, RunFunc: e.startKept, UndoFunc: e.undoStartKept},
		&Func{PhaseName: PhaseHealth, RunFunc: e.rollbackHealth},
	)
	if to != "" {
		phases = append(phases, &Func{PhaseName: PhaseSmoke, RunFunc: furtherBackOnly(e.smoke)})
	}
	phases = append(phases, &Func{PhaseName: PhaseSwitch, RunFunc: e.switchTraffic, UndoFunc: e.undoSwitch})
	if to != "" {
		phases = append(phases, &Func{PhaseName: PhaseVerify, RunFunc: furtherBackOnly(e.verify)})
	}
	phases = append(phases,
		&Func{PhaseName: PhaseRetire, RunFunc: e.retire, UndoFunc: e.undoRetire},
		&Func{PhaseName: PhaseRecord, RunFunc: e.recordRollback, Final: true},
		&Func{PhaseName: PhaseNotify, RunFunc: e.notifyRollback, Final: true},
		&Func{PhaseName: PhaseUnlock, RunFunc: e.unlock, Final: true},
	)
	p := NewPipeline(phases...)
	p.Deadline = e.Env.Timeouts.Deployment
	return p
}

// furtherBackOnly runs run only in a rollback further back than the
// previous release (see RollbackPipeline).
func furtherBackOnly(run func(ctx context.Context, d *Deployment) error) func(ctx context.Context, d *Deployment) error {
	return func(ctx context.Context, d *Deployment) error {
		if !d.furtherBack {
			d.Progress("not needed: returning to the previous release")
			return nil
		}
		return run(ctx, d)
	}
}

// checkRollbackTo parses to and accepts it only if it was live in this
// environment before: state's current or previous release, or a succeeded
// deployment or rollback in history. Anything else is refused with
// ErrNeverLive, naming the deployment that would put it there.
func (e *Engine) checkRollbackTo(ctx context.Context, st state.State, to string) (version.Version, error) {
	v, err := version.Parse(to)
	if err != nil {
		return version.Version{}, fmt.Errorf("rollback -to: %w", err)
	}
	want := v.String()
	for _, r := range []*state.Release{st.Current, st.Previous} {
		if r != nil && r.Version == want {
			return v, nil
		}
	}
	hist, err := e.Store.History(ctx, 0)
	if err != nil {
		return v, err
	}
	for _, ent := range hist {
		if ent.Version == want && ent.Outcome == state.OutcomeSucceeded && (ent.Kind == state.KindDeploy || ent.Kind == state.KindRollback) {
			return v, nil
		}
	}
	env := e.Env.Name
	return v, fmt.Errorf("rollback -to: %s was %w in %s; to deploy it, run `go tool mage deploy:%s %s`", want, ErrNeverLive, env, env, want)
}

// refused reports whether d was refused before it changed anything (a
// rollback target that was never live, checked before the lock and again
// under it): nothing is recorded or announced then.
func refused(d *Deployment) bool {
	return d.Failure != nil && (d.Failure.Phase == PhaseRollbackCheck || errors.Is(d.Failure, ErrNeverLive))
}

// NewRollback describes a manual rollback started now.
func (e *Engine) NewRollback() *Deployment {
	d := e.NewDeployment(version.Version{})
	d.ID = ""
	d.TestsSkipped = false
	return d
}

func (e *Engine) lockFor(kind string) func(ctx context.Context, d *Deployment) error {
	return func(ctx context.Context, d *Deployment) error { return e.takeLock(ctx, d, kind) }
}

// prepareRollback picks the release to return to and the colour it runs in.
func (e *Engine) prepareRollback(ctx context.Context, d *Deployment, to string) error {
	// Read under the lock by the lock phase's reconcile: no second read.
	st, err := e.Store.Known(ctx)
	if err != nil {
		return err
	}
	live, err := e.liveColour(ctx, st)
	if err != nil {
		return err
	}
	if !live.Valid() {
		return fmt.Errorf("%w: nothing is live yet", ErrNoPrevious)
	}
	d.Live, d.Next = live, live.Other()
	d.Previous = st.Current
	target := st.Previous
	if to != "" {
		v, err := e.checkRollbackTo(ctx, st, to) // again, under the lock
		if err != nil {
			return err
		}
		if target == nil || target.Version != v.String() {
			target = &state.Release{Version: v.String()}
			d.furtherBack = true
		}
	}
	if target == nil || target.Version == "" {
		return fmt.Errorf("%w: state records only %s; name a version with -to=VERSION", ErrNoPrevious, releaseVersion(st.Current))
	}
	d.Version, err = version.Parse(target.Version)
	if err != nil {
		return fmt.Errorf("recorded previous release: %w", err)
	}
	d.ID = version.DeploymentID(e.Env.Name, d.Version, time.Now().UTC())
	// d.Lock stays as written to the host: Release matches it on
	// DeploymentID, and the lock was taken before the ID was known.
	rel := *target
	rel.Colour, rel.DeploymentID = string(d.Next), d.ID
	d.Release = &rel
	d.Commit = rel.Commit
	d.AddFact("rolling back", fmt.Sprintf("%s (%s) -> %s (%s)", releaseVersion(st.Current), live, d.Version, d.Next))
	_, err = e.Store.Update(ctx, func(s *state.State) {
		s.InFlight = &state.InFlight{Kind: state.KindRollback, DeploymentID: d.ID, Version: d.Version.String(),
			From: string(d.Live), To: string(d.Next), Phase: PhaseRollbackPrepare, Started: time.Now().UTC(), Holder: holder(d)}
	})
	return err
}

func releaseVersion(r *state.Release) string {
	if r == nil {
		return "nothing"
	}
	return r.Version
}

// startKept starts the kept colour when it holds the target version, and
// otherwise renders the target version into it (pulling images if needed).
func (e *Engine) startKept(ctx context.Context, d *Deployment) error {
	kept, err := container.Containers(ctx, e.Docker, e.App, string(d.Next))
	if err != nil {
		return err
	}
	// renderedFrom answers from the container list; the host is asked
	// (`test -e`, one remote command) only when the labels do not tell.
	if len(kept) > 0 && (e.renderedFrom(kept, d.Next) || e.colourExists(ctx, d.Next)) && kept[0].Labels["blueshift.version"] == d.Version.String() {
		d.Progress(fmt.Sprintf("starting the kept %s containers (%s)", d.Next, d.Version))
		return e.startColour(ctx, d.Next)
	}
	d.Progress(fmt.Sprintf("%s no longer holds %s: rendering and starting it", d.Next, d.Version))
	imgs, err := e.upColour(ctx, d.Next, d.Version, d.ID, d.Progress)
	if err != nil {
		return err
	}
	d.Release.Images = imgs
	return nil
}

// undoStartKept stops the colour again, keeping its containers, unless
// the proxy still serves it (the switch back failed): then it stays
// running (see guardServing).
func (e *Engine) undoStartKept(ctx context.Context, d *Deployment) error {
	if err := e.guardServing(ctx, d); err != nil {
		return err
	}
	return e.stopColour(ctx, d.Next)
}

// rollbackHealth checks the colour rolled back to with a fast policy: it
// served minutes ago, so readiness is quick.
func (e *Engine) rollbackHealth(ctx context.Context, d *Deployment) error {
	if err := e.ensureServing(ctx, d, d.Next); err != nil {
		d.Logs = e.colourLogs(context.WithoutCancel(ctx), d.Next, 30)
		return err
	}
	return nil
}

// recordRollback records the outcome; on success (or when a failed undo
// left it serving) the rolled-back-to release becomes current and the one
// left becomes previous.
func (e *Engine) recordRollback(ctx context.Context, d *Deployment) error {
	if refused(d) {
		return nil
	}
	var owned error
	if d.Outcome == OutcomeSucceeded || d.leftServing {
		d.Release.DeployedAt = time.Now().UTC()
		clearInFlight := stillHeld(d)
		_, err := e.Store.UpdateOwned(ctx, d.ID, func(s *state.State) {
			s.Live = string(d.Next)
			s.Previous, s.Current = s.Current, d.Release
			if clearInFlight {
				s.InFlight = nil // in this write, not unlock's (see record)
			}
		})
		if owned = notOwned(err); owned == nil && err != nil {
			return err
		}
	}
	ent := e.historyEntry(d, state.KindRollback)
	ent.Automatic = false
	return errors.Join(owned, e.Store.Append(ctx, ent))
}

// notifyRollback announces a manual rollback (or its failure).
func (e *Engine) notifyRollback(ctx context.Context, d *Deployment) error {
	if refused(d) {
		return nil
	}
	kind := notify.RolledBack
	if d.Outcome != OutcomeSucceeded {
		kind = notify.Failed
	}
	ev := e.event(d, kind)
	ev.Automatic = false
	e.send(ctx, d, ev)
	return nil
}
