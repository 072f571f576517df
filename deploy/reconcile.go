package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	held, err := e.Store.Acquire(ctx, state.NewLock(state.KindReconcile, "", "", "reconcile"))
	if err != nil {
		return nil, err
	}
	r, err := e.reconcileHeld(ctx, held)
	return r, errors.Join(err, held.Release(context.WithoutCancel(ctx)))
}

// reconcileHeld brings the host back to one consistent live colour after a
// deployment or rollback that died part-way (the tool was killed, the SSH
// connection dropped). It runs only while this run holds the lock (held),
// so whatever is in flight belongs to a dead run. The proxy's view of the
// live colour wins; that colour is made to run and pass its health checks,
// the proxy is made to serve it (a run killed between writing nginx's
// upstream file and reloading nginx leaves the file naming a colour nginx
// does not serve yet), and only then is the other colour stopped or
// removed; state is corrected and the evidence written to history.
func (e *Engine) reconcileHeld(ctx context.Context, held *state.Held) (*Reconciliation, error) {
	// State as the lock's own command read it (Acquire): no command more.
	st, err := e.Store.Known(ctx)
	if err != nil {
		return nil, err
	}
	if st.InFlight == nil && held.Previous == nil {
		return nil, nil
	}
	r := &Reconciliation{Interrupted: st.InFlight, Holder: held.Previous}
	if held.Previous != nil {
		r.Actions = append(r.Actions, "took over the lock of "+held.Previous.String()+" (its host-side lock was free: the holder is gone)")
	}
	live, err := e.proxyLive(ctx, st)
	if err != nil {
		return r, fmt.Errorf("reconcile: %w", err)
	}
	r.Live = live
	if in := st.InFlight; in != nil {
		to, _ := version.ParseColour(in.To)
		if live.Valid() {
			if err := e.assertServing(ctx, live); err != nil {
				return r, fmt.Errorf("reconcile: nothing was stopped: %w", err)
			}
			r.Actions = append(r.Actions, fmt.Sprintf("%s (live at the proxy) runs, is healthy and is what the proxy serves", live))
		}
		other := to.Valid() && to != live
		from, _ := version.ParseColour(in.From)
		retire := to.Valid() && to == live && from.Valid() && from != live
		if (other || retire) && live.Valid() {
			e.drain(ctx)
		}
		switch {
		case other && in.Kind == state.KindDeploy:
			// The switch never happened: the next colour is half-started.
			if err := e.removeColour(ctx, to); err != nil {
				return r, fmt.Errorf("reconcile: %w", err)
			}
			r.Actions = append(r.Actions, fmt.Sprintf("removed the half-started %s (%s)", to, in.Version))
		case other:
			// A rollback that never switched: the kept colour it started
			// goes back to being kept, stopped.
			if err := e.stopColour(ctx, to); err != nil {
				return r, fmt.Errorf("reconcile: %w", err)
			}
			r.Actions = append(r.Actions, fmt.Sprintf("stopped %s again (kept for rollback)", to))
		case retire:
			// The switch happened: the new version serves. Keep it, stop the old.
			if err := e.stopColour(ctx, from); err != nil {
				return r, fmt.Errorf("reconcile: %w", err)
			}
			r.Actions = append(r.Actions, fmt.Sprintf("stopped %s (kept for rollback)", from))
		}
		_, err = e.Store.Update(ctx, func(s *state.State) {
			if to.Valid() && to == live && (s.Current == nil || s.Current.Version != in.Version || s.Current.Colour != in.To) {
				s.Previous = s.Current
				rel := state.Release{Version: in.Version, DeploymentID: in.DeploymentID}
				if in.Release != nil {
					rel = *in.Release
				}
				rel.Colour, rel.DeployedAt = in.To, time.Now().UTC()
				s.Current = &rel
			}
			if live.Valid() {
				s.Live = string(live)
			}
			s.InFlight = nil
		})
		if err != nil {
			return r, err
		}
	} else if live.Valid() && st.Live != string(live) {
		if _, err := e.Store.Update(ctx, func(s *state.State) { s.Live = string(live) }); err != nil {
			return r, err
		}
		r.Actions = append(r.Actions, "state's live colour corrected to the proxy's: "+string(live))
	}
	if err := e.Store.Append(ctx, reconcileEntry(r)); err != nil {
		return r, err
	}
	e.Logger.Warn("reconciled an interrupted run", "actions", r.Actions)
	return r, nil
}

// assertServing makes colour c serve: started if it is stopped, healthy,
// and switched to at the proxy (again: Switch rewrites, checks and reloads
// nginx's configuration, or points Caddy's handlers at c), so that what the
// proxy runs matches what reconcile keeps before anything else is stopped.
func (e *Engine) assertServing(ctx context.Context, c version.Colour) error {
	if err := e.ensureServing(ctx, &Deployment{Logger: e.Logger}, c); err != nil {
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
func (e *Engine) drain(ctx context.Context) {
	if d := e.Env.Timeouts.Drain; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
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
