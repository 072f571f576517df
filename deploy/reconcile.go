package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// Reconciliation says what Reconcile found and did.
type Reconciliation struct {
	// Interrupted is the run that died, if one did.
	Interrupted *state.InFlight
	// Holder is the dead holder whose lock was taken over, if any.
	Holder *state.Lock
	// Live is the colour serving afterwards (the proxy's view).
	Live version.Colour
	// Actions lists what was done, for people.
	Actions []string
}

// Reconcile takes the deploy lock, reconciles a run that died part-way (if
// there is one) and releases the lock: the `reconcile` target. A live run
// holding the lock makes it fail with an error wrapping state.ErrLocked and
// nothing is touched. It returns nil, nil when there was nothing to do.
func (e *Engine) Reconcile(ctx context.Context) (*Reconciliation, error) {
	var r *Reconciliation
	err := e.underLock(ctx, state.NewLock(state.KindReconcile, "", "", "reconcile"), func(ctx context.Context, held *state.Held) error {
		var err error
		r, err = e.reconcileHeld(ctx, held)
		return err
	})
	return r, err
}

// reconcileHeld brings the host back to one consistent live colour after a
// deployment or rollback that died part-way (the tool was killed, the SSH
// connection dropped). It runs only while this run holds the lock (held),
// so whatever is in flight belongs to a dead run. It looks (observe), decides
// (decideReconcile, a pure function: see there for the rules) and applies
// the steps in order, stopping at the first that fails.
func (e *Engine) reconcileHeld(ctx context.Context, held *state.Held) (*Reconciliation, error) {
	// State as the lock's own command read it (Acquire): no command more.
	st, err := e.Store.Known(ctx)
	if err != nil {
		return nil, err
	}
	if !needsReconcile(st, held.Previous) {
		return nil, nil
	}
	view, err := e.observe(ctx, st, held.Previous)
	if err != nil {
		return &Reconciliation{Interrupted: st.InFlight, Holder: held.Previous}, fmt.Errorf("reconcile: %w", err)
	}
	plan := decideReconcile(view)
	r := &Reconciliation{Interrupted: st.InFlight, Holder: held.Previous, Live: view.Live}
	for _, s := range plan {
		if err := e.applyReconcileStep(ctx, s, r); err != nil {
			return r, err
		}
		if s.Done != "" {
			r.Actions = append(r.Actions, s.Done)
		}
	}
	e.logger.Warn("reconciled an interrupted run", "actions", r.Actions)
	return r, nil
}

// needsReconcile reports whether there is anything to reconcile: a run left
// in flight, or a dead holder's lock that was taken over.
func needsReconcile(st state.State, holder *state.Lock) bool {
	return st.InFlight != nil || holder != nil
}

// reconcileView is what reconcile decides from, read under the lock.
type reconcileView struct {
	// State is state.json.
	State state.State
	// Holder is the dead holder whose lock this run took over, or nil.
	Holder *state.Lock
	// Live is the colour the proxy serves (else state's), or the zero
	// Colour when neither knows.
	Live version.Colour
	// Running says which colours have running containers (read only when a
	// run is in flight: nothing is started or stopped otherwise).
	Running map[version.Colour]bool
}

// observe reads what reconcile decides from: the proxy's live colour and,
// with a run in flight, which colours have running containers.
func (e *Engine) observe(ctx context.Context, st state.State, holder *state.Lock) (reconcileView, error) {
	v := reconcileView{State: st, Holder: holder}
	live, err := e.proxyLive(ctx, st)
	if err != nil {
		return v, err
	}
	v.Live = live
	if st.InFlight == nil {
		return v, nil
	}
	v.Running = map[version.Colour]bool{}
	for _, c := range []version.Colour{version.Blue, version.Green} {
		cs, err := container.Containers(ctx, e.docker, e.App, string(c))
		if err != nil {
			return v, fmt.Errorf("list %s's containers: %w", c, err)
		}
		v.Running[c] = anyRunning(cs)
	}
	return v, nil
}

// anyRunning reports whether one of cs is running.
func anyRunning(cs []container.Container) bool {
	for _, ct := range cs {
		if ct.State == "running" {
			return true
		}
	}
	return false
}

// reconcileOp is what one reconcile step does.
type reconcileOp int

const (
	// opNote does nothing: it records something already done (the lock
	// taken over).
	opNote reconcileOp = iota
	// opStart starts the live colour's kept (stopped) containers.
	opStart
	// opServe waits for the live colour to be healthy and makes the proxy
	// serve it (again).
	opServe
	// opDrain waits timeouts.drain before a colour is stopped.
	opDrain
	// opRemove removes a colour's containers (never volumes).
	opRemove
	// opStop stops a colour, keeping its containers for a rollback.
	opStop
	// opState writes state: Promote (if set) becomes current, Live (if
	// valid) the live colour, and the in-flight record is cleared if
	// ClearInFlight.
	opState
	// opRecord appends the reconciliation to history (always last).
	opRecord
)

// reconcileStep is one step of a reconciliation, with the reason for it.
type reconcileStep struct {
	Op     reconcileOp
	Colour version.Colour
	// Promote is the release opState makes current (its DeployedAt is set
	// when applied).
	Promote *state.Release
	// ClearInFlight makes opState clear the in-flight record.
	ClearInFlight bool
	// Why is the reason for the step.
	Why string
	// Done is what Reconciliation.Actions says once the step succeeded
	// (empty: nothing to say).
	Done string
}

// decideReconcile is what reconcile does, in order, given what it sees. It
// changes nothing; nil means there is nothing to do. The rules:
//   - the proxy's view of the live colour wins; with a run in flight, that
//     colour is started if it is stopped, must be healthy and is made what
//     the proxy serves (a run killed between writing nginx's upstream file
//     and reloading nginx leaves the file naming a colour nginx does not
//     serve yet) before anything is stopped;
//   - then the other colour the run touched goes: a deployment's
//     half-started next colour is removed, a rollback's restarted kept
//     colour is stopped again, and after a switch that happened the old
//     colour is stopped (kept for rollback), each after a drain;
//   - the live colour is never stopped or removed;
//   - state follows (the switched-to release becomes current, the live
//     colour is the proxy's, the in-flight record goes) and history records
//     it all.
func decideReconcile(v reconcileView) []reconcileStep {
	if !needsReconcile(v.State, v.Holder) {
		return nil
	}
	var steps []reconcileStep
	if h := v.Holder; h != nil {
		steps = append(steps, reconcileStep{Op: opNote, Why: "the lock's holder is gone",
			Done: "took over the lock of " + h.String() + " (its host-side lock was free: the holder is gone)"})
	}
	if v.State.InFlight != nil {
		steps = append(steps, decideInFlight(v)...)
	} else if v.Live.Valid() && v.State.Live != string(v.Live) {
		steps = append(steps, reconcileStep{Op: opState, Colour: v.Live, Why: fmt.Sprintf("state names %q as live, the proxy serves %s", v.State.Live, v.Live),
			Done: "state's live colour corrected to the proxy's: " + string(v.Live)})
	}
	return append(steps, reconcileStep{Op: opRecord, Why: "history keeps the evidence"})
}

// decideInFlight are the steps for a run left in flight (see decideReconcile).
func decideInFlight(v reconcileView) []reconcileStep {
	in, live := v.State.InFlight, v.Live
	to, _ := version.ParseColour(in.To)
	from, _ := version.ParseColour(in.From)
	var steps []reconcileStep
	if live.Valid() {
		if !v.Running[live] {
			steps = append(steps, reconcileStep{Op: opStart, Colour: live, Why: string(live) + " serves but has no running container"})
		}
		steps = append(steps, reconcileStep{Op: opServe, Colour: live, Why: string(live) + " is live at the proxy",
			Done: fmt.Sprintf("%s (live at the proxy) runs, is healthy and is what the proxy serves", live)})
	}
	// The colour to stop or remove; never the live one.
	var off reconcileStep
	switch {
	case to.Valid() && to != live && in.Kind == state.KindDeploy:
		off = reconcileStep{Op: opRemove, Colour: to, Why: "the switch never happened: the next colour is half-started",
			Done: fmt.Sprintf("removed the half-started %s (%s)", to, in.Version)}
	case to.Valid() && to != live:
		off = reconcileStep{Op: opStop, Colour: to, Why: "a rollback that never switched: the kept colour it started goes back to being kept",
			Done: fmt.Sprintf("stopped %s again (kept for rollback)", to)}
	case to.Valid() && from.Valid() && from != live:
		off = reconcileStep{Op: opStop, Colour: from, Why: "the switch happened: the new version serves; the old is kept, stopped",
			Done: fmt.Sprintf("stopped %s (kept for rollback)", from)}
	}
	if off.Colour.Valid() {
		if live.Valid() {
			steps = append(steps, reconcileStep{Op: opDrain, Colour: off.Colour, Why: "requests the proxy's old workers still send finish"})
		}
		steps = append(steps, off)
	}
	return append(steps, decideState(v, to))
}

// decideState is the state write that closes a reconciled run: the release
// switched to becomes current when the proxy serves it and state does not
// say so yet.
func decideState(v reconcileView, to version.Colour) reconcileStep {
	in, cur := v.State.InFlight, v.State.Current
	s := reconcileStep{Op: opState, Colour: v.Live, ClearInFlight: true, Why: "the run's in-flight record is settled"}
	if to.Valid() && to == v.Live && (cur == nil || cur.Version != in.Version || cur.Colour != in.To) {
		rel := state.Release{Version: in.Version, DeploymentID: in.DeploymentID}
		if in.Release != nil {
			rel = *in.Release
		}
		rel.Colour = in.To
		s.Promote = &rel
	}
	return s
}

// applyReconcileStep does step s of a reconciliation r (r.Actions so far is
// what the history entry of opRecord says was done).
func (e *Engine) applyReconcileStep(ctx context.Context, s reconcileStep, r *Reconciliation) error {
	switch s.Op {
	case opStart:
		if err := e.startColour(ctx, s.Colour); err != nil {
			return fmt.Errorf("reconcile: nothing was stopped: %w", err)
		}
	case opServe:
		if err := e.assertServing(ctx, s.Colour); err != nil {
			return fmt.Errorf("reconcile: nothing was stopped: %w", err)
		}
	case opDrain:
		_ = e.drain(ctx) // cut short, the stop that follows fails on ctx too
	case opRemove, opStop:
		return e.retireColour(ctx, s)
	case opState:
		_, err := e.Store.Update(ctx, func(st *state.State) { applyState(st, s, time.Now().UTC()) })
		return err
	case opRecord:
		return e.Store.Append(ctx, reconcileEntry(r))
	}
	return nil
}

// retireColour stops (opStop) or removes (opRemove) the colour of step s.
func (e *Engine) retireColour(ctx context.Context, s reconcileStep) error {
	do := e.stopColour
	if s.Op == opRemove {
		do = e.removeColour
	}
	if err := do(ctx, s.Colour); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	return nil
}

// applyState makes st say what opState step s decided, at time now.
func applyState(st *state.State, s reconcileStep, now time.Time) {
	if s.Promote != nil {
		st.Previous = st.Current
		rel := *s.Promote
		rel.DeployedAt = now
		st.Current = &rel
	}
	if s.Colour.Valid() {
		st.Live = string(s.Colour)
	}
	if s.ClearInFlight {
		st.InFlight = nil
	}
}

// assertServing makes colour c serve: healthy (ensureServing starts it if
// it is stopped) and switched to at the proxy (again: Switch rewrites,
// checks and reloads nginx's configuration, or points Caddy's handlers at
// c), so that what the proxy runs matches what reconcile keeps before
// anything else is stopped.
func (e *Engine) assertServing(ctx context.Context, c version.Colour) error {
	if err := e.ensureServing(ctx, &Deployment{Logger: e.logger}, c); err != nil {
		return err
	}
	if e.Switcher == nil {
		return nil
	}
	if err := e.Switcher.Switch(ctx, string(c)); err != nil {
		return fmt.Errorf("make the proxy serve %s: %w", c, err)
	}
	return nil
}

// drain waits timeouts.drain, so requests the proxy's old workers still
// send to a colour finish before it stops.
func (e *Engine) drain(ctx context.Context) error {
	if d := e.Env.Timeouts.Drain; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// reconcileEntry is the history entry of a reconciliation: what was
// interrupted (the in-flight record, else the lock's holder) and what was
// done about it.
func reconcileEntry(r *Reconciliation) state.Entry {
	ent := state.Entry{Kind: state.KindReconcile, Outcome: state.OutcomeInterrupted, Colour: string(r.Live)}
	if in := r.Interrupted; in != nil {
		ent.DeploymentID, ent.Version, ent.Phase, ent.Actor = in.DeploymentID, in.Version, in.Phase, in.Holder
		ent.Error = fmt.Sprintf("%s of %s was interrupted during phase %q (started %s by %s); %v", in.Kind, in.Version, in.Phase, in.Started.Format(time.RFC3339), in.Holder, r.Actions)
		return ent
	}
	if h := r.Holder; h != nil {
		ent.DeploymentID, ent.Version, ent.Actor = h.DeploymentID, h.Version, h.Holder
		ent.Error = fmt.Sprintf("a run holding the lock was interrupted before it recorded anything in flight (lock held by %s); %v", h, r.Actions)
	}
	return ent
}

// liveFileReader is a Switcher whose live colour is in a file on the host
// (traffic.Nginx): the lock's command reads it (Store.AcquireReading), so
// prepare asks the proxy nothing more.
type liveFileReader interface {
	UpstreamFile() string
	LiveIn(data []byte) (string, error)
}

// liveReading is the proxy's live colour read under the lock.
type liveReading struct {
	colour string
	err    error
}

// proxyLive is the live colour by the proxy, else by state.
func (e *Engine) proxyLive(ctx context.Context, st state.State) (version.Colour, error) {
	if e.Switcher != nil {
		var c string
		var err error
		if r := e.liveAtLock; r != nil {
			c, err = r.colour, r.err
		} else {
			c, err = e.Switcher.Live(ctx)
		}
		if err == nil {
			return version.ParseColour(c)
		}
		if !errors.Is(err, traffic.ErrNoLiveColour) {
			return "", err
		}
	}
	if st.Live == "" {
		return "", nil
	}
	return version.ParseColour(st.Live)
}
