package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/blueshift-deploy/blueshift/backup"
)

// backupPhase takes the pre-deployment backup and prunes old ones; the
// backup of the release being replaced is protected.
type backupPhase struct{ e *Engine }

func (backupPhase) Name() string { return PhaseBackup }

func (p backupPhase) Run(ctx context.Context, d *Deployment) error {
	e := p.e
	if !e.Env.Backup.Enabled {
		d.Warn("backups are disabled (backup.enabled: false)")
		return nil
	}
	plan, err := e.backupPlan(ctx, d.Version.String(), d.Previous, d.Live)
	if err != nil {
		return err
	}
	plan.Progress = func(ev backup.Event) {
		if !ev.Done {
			d.Progress(ev.Step + " " + ev.Source)
		}
	}
	var res backup.Result
	err = bounded(ctx, e.field("backup.timeout"), e.Env.Backup.Timeout, func(ctx context.Context) (err error) {
		res, err = plan.Create(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("pre-deployment backup into %s on %s failed; nothing was changed: %w", plan.BackupsDir(), e.Host.Name(), err)
	}
	d.BackupID = res.ID
	var size int64
	for _, a := range res.Manifest.Artifacts {
		size += a.Size
	}
	d.AddFact("backup", fmt.Sprintf("%s (%d artifacts, %d bytes)", res.ID, len(res.Manifest.Artifacts), size))
	pruned, err := backup.Retention{Keep: e.Env.Backup.Keep, Protect: []string{res.ID}}.Prune(ctx, e.Host, plan.BackupsDir())
	if err != nil {
		d.Warn("pruning old backups failed: " + err.Error())
	} else if len(pruned) > 0 {
		d.AddFact("backups pruned", strings.Join(pruned, ", "))
	}
	return nil
}

func (p backupPhase) Plan(_ context.Context, d *Deployment) (string, error) {
	b := p.e.Env.Backup
	if !b.Enabled {
		return "nothing: backup.enabled is false", nil
	}
	return fmt.Sprintf("back up into %s/pre-deploy-%s-<time>/, keep the newest %d", b.Dir, d.Version, b.Keep), nil
}
