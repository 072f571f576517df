package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Info describes one directory in the backups dir.
type Info struct {
	// ID is the directory's name ("pre-deploy-v1.0.1-20261125_180000",
	// or ".tmp-..." for an unfinished one).
	ID   string
	Path string
	// Size is du -sb of the directory.
	Size int64
	// Created is the manifest's start time, else the time in the name,
	// else the directory's modification time.
	Created time.Time
	// ModTime is the directory's modification time.
	ModTime time.Time
	// Version is the manifest's version, if readable.
	Version string
	// Complete is true only for a renamed backup whose manifest ends
	// with "complete": true.
	Complete bool
	// Temp is true for a directory still (or abandoned while) being
	// written.
	Temp bool
	// Verified is true when Verify succeeded on it, at VerifiedAt.
	Verified   bool
	VerifiedAt time.Time
}

// isBackupName reports whether name is a directory blueshift writes.
func isBackupName(name string) bool {
	n := strings.TrimPrefix(name, TempPrefix)
	return strings.HasPrefix(n, PrefixPreDeploy) || strings.HasPrefix(n, PrefixPreRestore)
}

// listArgvFind lists subdirectories of dir with their mtime.
func listDirsArgv(dir string) []string {
	return []string{"find", dir, "-mindepth", "1", "-maxdepth", "1", "-type", "d", "-printf", `%T@ %f\n`}
}

// List returns the backups in dir (the backups dir), newest first,
// including unfinished temporary ones (Temp, not Complete). A missing dir
// holds no backups.
func List(ctx context.Context, r host.Runner, dir string) ([]Info, error) {
	if ok, err := host.Exists(ctx, r, dir); err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	} else if !ok {
		return nil, nil
	}
	out, err := output(ctx, r, listDirsArgv(dir)...)
	if err != nil {
		return nil, fmt.Errorf("list backups in %s: %w", dir, err)
	}
	var infos []Info
	for _, line := range strings.Split(out, "\n") {
		ts, name, ok := strings.Cut(line, " ")
		if !ok || !isBackupName(name) || !namePattern.MatchString(strings.TrimPrefix(name, ".")) {
			continue
		}
		sec, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			continue
		}
		mt := time.Unix(0, int64(sec*1e9)).UTC()
		infos = append(infos, Info{ID: name, Path: path.Join(dir, name), ModTime: mt, Created: mt, Temp: strings.HasPrefix(name, TempPrefix)})
	}
	if len(infos) == 0 {
		return nil, nil
	}
	if err := duSizes(ctx, r, infos); err != nil {
		return nil, fmt.Errorf("list backups in %s: %w", dir, err)
	}
	for i := range infos {
		in := &infos[i]
		if t, ok := nameTime(in.ID); ok {
			in.Created = t
		}
		if in.Temp {
			continue
		}
		m, err := ReadManifest(ctx, r, in.Path)
		if err != nil && !errors.Is(err, ErrIncomplete) {
			return nil, err
		}
		in.Complete = err == nil
		in.Version = m.Version
		if !m.Started.IsZero() {
			in.Created = m.Started
		}
		if in.Complete {
			if data, err := host.ReadFile(ctx, r, path.Join(in.Path, VerifiedFile)); err == nil {
				var v Verification
				if json.Unmarshal(data, &v) == nil {
					in.Verified, in.VerifiedAt = true, v.VerifiedAt
				}
			}
		}
	}
	sort.SliceStable(infos, func(i, j int) bool {
		if !infos[i].Created.Equal(infos[j].Created) {
			return infos[i].Created.After(infos[j].Created)
		}
		return infos[i].ID > infos[j].ID
	})
	return infos, nil
}

// nameTime parses the timestamp at the end of a backup name.
func nameTime(id string) (time.Time, bool) {
	if len(id) < len(TimeLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(TimeLayout, id[len(id)-len(TimeLayout):])
	return t, err == nil
}

func duSizes(ctx context.Context, r host.Runner, infos []Info) error {
	argv := []string{"du", "-sb", "--"}
	for _, in := range infos {
		argv = append(argv, in.Path)
	}
	// du exits 1 when a directory vanished meanwhile (a concurrent prune or
	// rename); the sizes it printed are still good.
	out, err := output(ctx, r, argv...)
	var ee *host.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Code == 1) {
		return fmt.Errorf("measure backups: %w", err)
	}
	sizes := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		n, p, ok := strings.Cut(line, "\t")
		if v, err := strconv.ParseInt(n, 10, 64); ok && err == nil {
			sizes[p] = v
		}
	}
	for i := range infos {
		infos[i].Size = sizes[infos[i].Path]
	}
	return nil
}

// DefaultKeep is how many complete backups Prune keeps by default.
const DefaultKeep = 10

// DefaultStaleAfter is the age past which an unfinished temporary backup
// is considered abandoned and removed by Prune.
const DefaultStaleAfter = 24 * time.Hour

// Retention says which backups Prune keeps.
type Retention struct {
	// Keep is how many complete backups to keep, newest first; default
	// DefaultKeep.
	Keep int
	// Protect lists backup IDs never deleted (the backup of the current
	// rollback point), whether or not they are among the newest.
	Protect []string
	// StaleAfter is the age (by modification time) after which a
	// temporary directory is removed; default DefaultStaleAfter.
	StaleAfter time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Prune keeps the newest keep complete backups in dir (DefaultKeep if keep
// <= 0) and the protected ones, deletes the other complete backups and
// abandoned temporary directories older than DefaultStaleAfter, and returns
// the IDs it deleted. Incomplete directories that are not temporary are left
// for a person to inspect.
func Prune(ctx context.Context, r host.Runner, dir string, keep int, protect []string) ([]string, error) {
	return Retention{Keep: keep, Protect: protect}.Prune(ctx, r, dir)
}

// Prune applies the retention to dir; see the package-level Prune.
func (rt Retention) Prune(ctx context.Context, r host.Runner, dir string) ([]string, error) {
	keep := rt.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	stale := rt.StaleAfter
	if stale <= 0 {
		stale = DefaultStaleAfter
	}
	now := time.Now()
	if rt.Now != nil {
		now = rt.Now()
	}
	infos, err := List(ctx, r, dir)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	var doomed []string
	kept := 0
	for _, in := range infos { // newest first
		switch {
		case in.Temp:
			if now.Sub(in.ModTime) > stale {
				doomed = append(doomed, in.ID)
			}
		case !in.Complete || slices.Contains(rt.Protect, in.ID):
		case kept < keep:
			kept++
		default:
			doomed = append(doomed, in.ID)
		}
	}
	var pruned []string
	for _, id := range doomed {
		if err := host.RemoveAll(ctx, r, path.Join(dir, id)); err != nil {
			return pruned, fmt.Errorf("prune %s: %w", id, err)
		}
		pruned = append(pruned, id)
	}
	return pruned, nil
}
