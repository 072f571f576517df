package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// ErrNotConfirmed is returned by Restore without explicit confirmation.
var ErrNotConfirmed = errors.New("restore not confirmed")

// ConfirmEnv is the environment variable a person sets to the backup ID to
// confirm a restore from a frontend (see ConfirmedByEnv).
const ConfirmEnv = "BLUESHIFT_CONFIRM_RESTORE"

// ConfirmedByEnv reports whether $BLUESHIFT_CONFIRM_RESTORE equals id.
func ConfirmedByEnv(id string) bool { return id != "" && os.Getenv(ConfirmEnv) == id }

// RestoreOptions choose what Restore puts back.
type RestoreOptions struct {
	// ID is the backup to restore, a directory name in the backups dir.
	ID string
	// Confirm must be true: a restore replaces live data.
	Confirm bool
	// Only restricts the restore to these source names; empty means
	// every source of the plan that can restore (Restorer).
	Only []string
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	// Safety is the pre-restore backup of the state that was replaced.
	Safety Result
	// Restored lists the sources restored, in order.
	Restored []string
}

// Restore puts a backup back: it verifies the backup, takes a safety backup
// of the current state with the plan's sources (named "pre-restore-..."),
// then restores each selected Restorer source from its artifacts. It
// refuses without o.Confirm (ErrNotConfirmed).
func (p *Plan) Restore(ctx context.Context, o RestoreOptions) (RestoreResult, error) {
	if err := p.validate(); err != nil {
		return RestoreResult{}, err
	}
	if err := checkName("restore: backup ID", o.ID); err != nil {
		return RestoreResult{}, err
	}
	if !o.Confirm {
		return RestoreResult{}, fmt.Errorf("restore %s: %w: it replaces live data; set %s=%s or pass -confirm", o.ID, ErrNotConfirmed, ConfirmEnv, o.ID)
	}
	r := p.Runner
	dir := path.Join(p.BackupsDir(), o.ID)
	if ok, err := host.Exists(ctx, r, dir); err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", o.ID, err)
	} else if !ok {
		return RestoreResult{}, fmt.Errorf("restore %s: %w in %s (see backup:list)", o.ID, ErrNotFound, p.BackupsDir())
	}
	for _, name := range o.Only {
		if !slices.ContainsFunc(p.Sources, func(s Source) bool { return s.Name() == name }) {
			return RestoreResult{}, fmt.Errorf("restore %s: no source named %q in the plan", o.ID, name)
		}
	}
	t0 := time.Now()
	p.emit(Event{Step: "verify"})
	if err := Verify(ctx, r, dir); err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", o.ID, err)
	}
	p.emit(Event{Step: "verify", Done: true, Elapsed: time.Since(t0)})
	m, err := ReadManifest(ctx, r, dir)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", o.ID, err)
	}

	type job struct {
		rs   Restorer
		arts []Artifact
	}
	var jobs []job
	for _, s := range p.Sources {
		rs, ok := s.(Restorer)
		if !ok || (len(o.Only) > 0 && !slices.Contains(o.Only, s.Name())) {
			continue
		}
		var arts []Artifact
		for _, a := range m.Artifacts {
			if a.Source == s.Name() {
				arts = append(arts, a)
			}
		}
		if len(arts) == 0 {
			return RestoreResult{}, fmt.Errorf("restore %s: source %s: %w: the backup has nothing from it (restrict the restore with Only)", o.ID, s.Name(), ErrArtifactMissing)
		}
		jobs = append(jobs, job{rs, arts})
	}
	if len(jobs) == 0 {
		return RestoreResult{}, fmt.Errorf("restore %s: no source of the plan can restore", o.ID)
	}

	var res RestoreResult
	res.Safety, err = p.create(ctx, PrefixPreRestore)
	if err != nil {
		return res, fmt.Errorf("restore %s: safety backup of the current state failed, nothing was restored: %w", o.ID, err)
	}
	for _, j := range jobs {
		t0 := time.Now()
		p.emit(Event{Step: "restore", Source: j.rs.Name()})
		err := j.rs.Restore(ctx, r, dir, j.arts)
		p.emit(Event{Step: "restore", Source: j.rs.Name(), Done: true, Elapsed: time.Since(t0), Err: err})
		if err != nil {
			return res, fmt.Errorf("restore %s: source %s (restored so far: %v; the state before is in %s): %w", o.ID, j.rs.Name(), res.Restored, res.Safety.ID, err)
		}
		res.Restored = append(res.Restored, j.rs.Name())
	}
	return res, nil
}
