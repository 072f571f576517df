package targets

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// Rollback returns ENV to the previous release, or to -to=VERSION.
//
// The kept colour is started (or the version rendered into it), checked and
// switched to; the current colour is stopped and kept. VERSION must have
// been live in the environment before (anything else is refused, naming the
// deploy command); one older than the previous release also goes through
// preflight, smoke and the monitor. Without -to, $ROLLBACK_TO is the
// version: copies of the example rollback.yml made before it passed -to set
// only that variable, and an operator asking for a version must never get
// the previous release instead; -to and a different $ROLLBACK_TO are
// refused. Output, report and exit codes as for deploy:production.
func Rollback(ctx context.Context, to *string, env *string) error {
	target, err := rollbackTarget(to, getenv("ROLLBACK_TO"))
	if err != nil {
		return fail(err)
	}
	if to == nil && target != "" {
		fmt.Fprintf(stderr, "rolling back to %s, from $ROLLBACK_TO\n", target)
	}
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		return runPipeline(ctx, eng, eng.RollbackPipeline(target), eng.NewRollback())
	})
}

// rollbackTarget is the version to roll back to: -to, else $ROLLBACK_TO,
// else "" (the previous release).
func rollbackTarget(to *string, env string) (string, error) {
	switch {
	case to == nil:
		return env, nil
	case env != "" && env != *to:
		return "", fmt.Errorf("rollback: -to=%s and ROLLBACK_TO=%s name different versions: unset ROLLBACK_TO or pass the same version", *to, env)
	}
	return *to, nil
}

// Status shows ENV's live colour, releases, containers, lock and recent history.
//
// It only reads: an interrupted deployment is reported, with the command
// that reconciles it (`reconcile`), never acted on.
func Status(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		s, err := eng.Status(ctx, 10)
		if err != nil {
			return err
		}
		return writeMasked(eng, s.Write)
	})
}

// Reconcile takes ENV's deploy lock and repairs a run that died part-way.
//
// A deployment or rollback killed part-way (or whose SSH connection
// dropped) leaves a colour half-started or a lock whose holder is gone;
// this keeps the colour the proxy serves (making the proxy serve it), stops
// or removes the other, corrects state and records what it did in history.
// Every deployment, rollback and restore does the same first. A live run
// holding the lock makes it fail (exit 1) without touching anything.
func Reconcile(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		r, err := eng.Reconcile(ctx)
		if err != nil {
			return err
		}
		if r == nil {
			_, err := fmt.Fprintf(stdout, "nothing to reconcile on %s\n", eng.Env.Name)
			return err
		}
		fmt.Fprintf(stdout, "reconciled %s (recorded in history):\n", eng.Env.Name)
		for _, a := range r.Actions {
			fmt.Fprintf(stdout, "  %s\n", a)
		}
		return nil
	})
}

// Versions lists the last 20 deployments, rollbacks and lock releases of ENV.
func Versions(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		entries, err := eng.Store.History(ctx, 20)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			_, err := fmt.Fprintf(stdout, "no deployments recorded in %s yet\n", eng.Env.Redactor()(eng.Store.Path()))
			return err
		}
		return writeMasked(eng, func(w io.Writer) error { return deploy.WriteHistory(w, entries) })
	})
}

// Lock holds targets about the deploy lock.
type Lock mg.Namespace

// Release releases ENV's deploy lock when its holder is gone, recording the former holder in history.
//
// It refuses a lock whose holder is alive (its host-side lock is held)
// unless -force, which ends the holder's hold (its run goes on without the
// lock). -reason=TEXT is recorded with it. A dead holder's lock needs no
// release: the next run (or `reconcile`) takes it over.
func (Lock) Release(ctx context.Context, reason *string, force *bool, env *string) error {
	why := "released with lock:release by " + actor()
	if reason != nil && *reason != "" {
		why += ": " + *reason
	}
	forced := force != nil && *force
	if forced {
		why += " (-force)"
	}
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		holder, err := eng.Store.ForceRelease(ctx, why, forced)
		switch {
		case err != nil:
			return err
		case holder == nil:
			fmt.Fprintf(stdout, "the deploy lock of %s is free; nothing to release\n", eng.Env.Name)
		default:
			fmt.Fprintf(stdout, "released the deploy lock of %s, held by %s (recorded in history)\n", eng.Env.Name, holder)
		}
		return nil
	})
}

// Health checks the live colour of ENV once: its ports, PostgreSQL, Redis and the public URL.
func Health(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		live, checks, err := eng.CheckLive(ctx)
		if live != "" {
			fmt.Fprintf(stdout, "live colour: %s\n", live)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, c := range checks {
			mark := "ok"
			if !c.OK {
				mark = "FAILED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, c.Name, c.Detail)
		}
		tw.Flush()
		return err
	})
}

// Smoke runs the smoke endpoints against ENV's public URL (or the live colour's port).
func Smoke(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		rep, err := eng.SmokeLive(ctx)
		if len(rep.Results) > 0 {
			rep.WriteTable(stdout)
		}
		return err
	})
}
