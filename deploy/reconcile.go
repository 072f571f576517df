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
	// Holder held the lock that was released.
	Holder *state.Lock
	// Live is the colour serving afterwards (the proxy's view).
	Live version.Colour
	// Actions lists what was done, for people.
	Actions []string
}

// Reconcile finds a deployment or rollback that died part-way (the tool was
// killed, the SSH connection dropped) and brings the host back to one
// consistent live colour before anything else runs: the proxy's view of the
// live colour wins, that colour is made to run, a half-started colour is
// removed (or the replaced one stopped, if the switch happened), state is
// corrected, and the stale lock is released with the evidence written to
// history. A lock held by a live run is left alone (nil, nil).
func (e *Engine) Reconcile(ctx context.Context) (*Reconciliation, error) {
	st, err := e.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	held, err := e.Store.ReadLock(ctx)
	if err != nil {
		return nil, err
	}
	if held != nil && !state.IsStale(*held, time.Now(), e.Env.Timeouts.Deployment) {
		return nil, nil // a live run holds it; Acquire reports the holder
	}
	if st.InFlight == nil && held == nil {
		return nil, nil
	}
	r := &Reconciliation{Interrupted: st.InFlight, Holder: held}
	live, err := e.proxyLive(ctx, st)
	if err != nil {
		return r, fmt.Errorf("reconcile: %w", err)
	}
	r.Live = live
	if in := st.InFlight; in != nil {
		to, _ := version.ParseColour(in.To)
		if live.Valid() {
			if err := e.ensureRunning(ctx, live); err != nil {
				return r, fmt.Errorf("reconcile: live colour %s: %w", live, err)
			}
			r.Actions = append(r.Actions, fmt.Sprintf("%s (live at the proxy) is running", live))
		}
		switch {
		case to.Valid() && to != live && in.Kind == state.KindDeploy:
			// The switch never happened: the next colour is half-started.
			if err := e.removeColour(ctx, to); err != nil {
				return r, fmt.Errorf("reconcile: %w", err)
			}
			r.Actions = append(r.Actions, fmt.Sprintf("removed the half-started %s (%s)", to, in.Version))
		case to.Valid() && to != live:
			// A rollback that never switched: the kept colour it started
			// goes back to being kept, stopped.
			if err := e.stopColour(ctx, to); err != nil {
				return r, fmt.Errorf("reconcile: %w", err)
			}
			r.Actions = append(r.Actions, fmt.Sprintf("stopped %s again (kept for rollback)", to))
		case to.Valid() && to == live:
			// The switch happened: the new version serves. Keep it, stop the old.
			if from, err := version.ParseColour(in.From); err == nil && from.Valid() && from != live {
				if err := e.stopColour(ctx, from); err != nil {
					return r, fmt.Errorf("reconcile: %w", err)
				}
				r.Actions = append(r.Actions, fmt.Sprintf("stopped %s (kept for rollback)", from))
			}
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
	why := "reconcile: lock holder gone or timed out"
	if r.Interrupted != nil {
		why = fmt.Sprintf("reconcile: %s %s interrupted in phase %s", r.Interrupted.Kind, r.Interrupted.Version, r.Interrupted.Phase)
	}
	if _, err := e.Store.ForceRelease(ctx, why); err != nil {
		return r, err
	}
	r.Actions = append(r.Actions, "released the stale lock")
	e.Logger.Warn("reconciled an interrupted run", "actions", r.Actions)
	return r, nil
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

// proxyLive is the live colour by the proxy, else by state.
func (e *Engine) proxyLive(ctx context.Context, st state.State) (version.Colour, error) {
	if e.Switcher != nil {
		c, err := e.Switcher.Live(ctx)
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

// ensureRunning starts colour c if none of its containers run.
func (e *Engine) ensureRunning(ctx context.Context, c version.Colour) error {
	running, err := e.colourRunning(ctx, c)
	if err != nil || running {
		return err
	}
	return e.startColour(ctx, c)
}
