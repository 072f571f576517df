package targets

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/releasenotes"
)

// Releasenotes prints the release notes (Markdown) of the commits after FROM up to TO in this repository.
//
// FROM and TO are tags or commits; commits are grouped by conventional-commit
// type, merges and chores left out.
func Releasenotes(ctx context.Context, from, to string) error {
	ctx, stop := interruptible(ctx)
	defer stop()
	notes, err := releasenotes.Generate(ctx, host.NewLocal(), releasenotes.Options{From: from, To: to})
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, notes.Markdown())
	return nil
}

// Notify holds targets about notifications.
type Notify mg.Namespace

// Test sends a test event to every notifier configured for ENV and prints how each fared.
func (Notify) Test(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		results, err := eng.TestNotify(ctx)
		if err != nil {
			return err
		}
		if len(results) == 0 {
			_, err := fmt.Fprintf(stdout, "no notifiers are configured for %s (see notify: in deploy.yml)\n", eng.Env.Name)
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		failed := 0
		for _, r := range results {
			status := fmt.Sprintf("sent in %s", r.Duration.Round(time.Millisecond))
			if r.Err != nil {
				failed++
				status = fmt.Sprintf("FAILED after %d attempt(s): %v", r.Attempts, r.Err)
			}
			fmt.Fprintf(tw, "%s\t%s\n", r.Notifier, status)
		}
		tw.Flush()
		if failed > 0 {
			return mg.Fatalf(1, "%d of %d notifier(s) failed", failed, len(results))
		}
		return nil
	})
}
