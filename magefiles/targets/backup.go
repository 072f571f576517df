package targets

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/backup"
	"github.com/blueshift-deploy/blueshift/deploy"
)

// Backup holds targets about the backups on the host.
type Backup mg.Namespace

// Create backs up ENV now (database, media, Docker state, release) and prunes beyond backup.keep.
func (Backup) Create(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		res, pruned, err := eng.CreateBackup(ctx, func(ev backup.Event) {
			if ev.Done {
				fmt.Fprintf(stdout, "  %s %s (%s)\n", ev.Step, ev.Source, ev.Elapsed.Round(time.Millisecond))
			}
		})
		if res.ID != "" {
			fmt.Fprintf(stdout, "backup %s: %d artifacts in %s\n", res.ID, len(res.Manifest.Artifacts), res.Path)
		}
		if len(pruned) > 0 {
			fmt.Fprintf(stdout, "pruned: %s\n", strings.Join(pruned, ", "))
		}
		return err
	})
}

// List lists ENV's backups, newest last: ID, size, age and whether verified.
func (Backup) List(ctx context.Context, env *string) error {
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		infos, err := backup.List(ctx, eng.Host, eng.BackupsDir())
		if err != nil {
			return err
		}
		if len(infos) == 0 {
			_, err := fmt.Fprintf(stdout, "no backups in %s\n", eng.BackupsDir())
			return err
		}
		return writeBackups(stdout, infos, time.Now())
	})
}

// Verify checks backup ID of ENV: manifest, sizes, SHA-256 sums, and that dumps and archives read.
func (Backup) Verify(ctx context.Context, id string, env *string) error {
	if err := checkBackupID(id); err != nil {
		return fail(err)
	}
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		if err := backup.Verify(ctx, eng.Host, path.Join(eng.BackupsDir(), id)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup %s is complete and intact\n", id)
		return nil
	})
}

// Restore puts backup ID of ENV back, replacing live data; needs -confirm or BLUESHIFT_CONFIRM_RESTORE=ID.
//
// A safety backup of what is replaced is taken first, under the deploy lock.
func (Backup) Restore(ctx context.Context, id string, confirm *bool, env *string) error {
	if err := checkBackupID(id); err != nil {
		return fail(err)
	}
	ok := (confirm != nil && *confirm) || getenv(backup.ConfirmEnv) == id
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		res, err := eng.Restore(ctx, id, ok)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "restored %s from %s; the replaced data is in backup %s\n", strings.Join(res.Restored, ", "), id, res.Safety.ID)
		return nil
	})
}

// checkBackupID rejects IDs that are not a plain directory name.
func checkBackupID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return fmt.Errorf("backup ID %q: want a name from backup:list, like pre-deploy-v1.0.1-20261125_180000", id)
	}
	return nil
}

// writeBackups prints backups as a table.
func writeBackups(w io.Writer, infos []backup.Info, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSIZE\tAGE\tVERIFIED")
	for _, b := range infos {
		verified := "no"
		switch {
		case b.Temp || !b.Complete:
			verified = "INCOMPLETE"
		case b.Verified:
			verified = b.VerifiedAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.ID, size(b.Size), age(now.Sub(b.Created)), verified)
	}
	return tw.Flush()
}

// size prints bytes with a binary unit.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// age prints a duration the way people say ages: 45s, 12m, 5h, 3d.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
