package targets

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// Rollback returns $BLUESHIFT_ENV to the previous release, or to -to=VERSION.
//
// The kept colour is started (or the version rendered into it), checked and
// switched to; the current colour is stopped and kept. Output, report and
// exit codes as for deploy:production.
func Rollback(ctx context.Context, to *string) error {
	target := ""
	if to != nil {
		target = *to
	}
	return withEngine(ctx, envName(), func(ctx context.Context, eng *deploy.Engine) error {
		return runPipeline(ctx, eng, eng.RollbackPipeline(target), eng.NewRollback())
	})
}

// Status shows $BLUESHIFT_ENV's live colour, releases, containers, lock and recent history.
//
// An interrupted deployment found on the way is reconciled first, and the
// output says so.
func Status(ctx context.Context) error {
	return withEngine(ctx, envName(), func(ctx context.Context, eng *deploy.Engine) error {
		s, err := eng.Status(ctx, 10)
		if err != nil {
			return err
		}
		return writeMasked(eng, s.Write)
	})
}

// Versions lists the last 20 deployments, rollbacks and lock releases of $BLUESHIFT_ENV.
func Versions(ctx context.Context) error {
	return withEngine(ctx, envName(), func(ctx context.Context, eng *deploy.Engine) error {
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

// Release force-releases $BLUESHIFT_ENV's deploy lock, recording the former holder in history.
//
// Use it when `status` shows a lock whose run is gone; -reason=TEXT is
// recorded with it.
func (Lock) Release(ctx context.Context, reason *string) error {
	why := "released with lock:release by " + actor()
	if reason != nil && *reason != "" {
		why += ": " + *reason
	}
	return withEngine(ctx, envName(), func(ctx context.Context, eng *deploy.Engine) error {
		holder, err := eng.Store.ForceRelease(ctx, why)
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

// Health checks the live colour of $BLUESHIFT_ENV once: its ports, PostgreSQL, Redis and the public URL.
func Health(ctx context.Context) error {
	return withEngine(ctx, envName(), func(ctx context.Context, eng *deploy.Engine) error {
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

// Smoke runs the smoke endpoints against $BLUESHIFT_ENV's public URL (or the live colour's port).
func Smoke(ctx context.Context) error {
	return withEngine(ctx, envName(), func(ctx context.Context, eng *deploy.Engine) error {
		rep, err := eng.SmokeLive(ctx)
		if len(rep.Results) > 0 {
			rep.WriteTable(stdout)
		}
		return err
	})
}
