package deploy

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// rollbackCheckPhase refuses, before the lock is taken (so nothing
// changes and nobody is notified), a rollback to a version that was never
// live (see checkRollbackTo).
type rollbackCheckPhase struct {
	e  *Engine
	to string
}

func (rollbackCheckPhase) Name() string { return PhaseRollbackCheck }

func (p rollbackCheckPhase) Run(ctx context.Context, d *Deployment) error {
	e, to := p.e, p.to
	st, err := e.Store.Load(ctx)
	if err != nil {
		return err
	}
	_, err = e.checkRollbackTo(ctx, st, to)
	return err
}

func (p rollbackCheckPhase) Plan(context.Context, *Deployment) (string, error) {
	return fmt.Sprintf("check that %s was live in %s before", p.to, p.e.Env.Name), nil
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
