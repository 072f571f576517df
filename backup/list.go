package backup

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

// listScript prints, in one command, everything List needs from the
// backups dir $1 (over SSH a command is a session, and List was three plus
// two per backup: test -e, find, du, then each manifest and each
// verified.json read apart, so a deployment's prune grew with the number
// of backups kept). For each directory named as blueshift names backups,
// one line each: "dir <mtime> <name>", "size <bytes> <name>", and for a
// renamed backup "<file> <name> <base64 of the file>" for manifest.json and
// verified.json when present. A missing dir prints nothing. The first line
// marks it for fake hosts in tests.
const listScript = `# blueshift:list-backups
[ -e "$1" ] || exit 0
cd -- "$1" || exit 3
for f in pre-deploy-* pre-restore-* .tmp-pre-deploy-* .tmp-pre-restore-*; do
	[ -d "$f" ] || continue
	case $f in *[!A-Za-z0-9._-]*) continue ;; esac
	printf 'dir %s %s\n' "$(find "$f" -maxdepth 0 -printf '%T@')" "$f"
	s=$(du -sb -- "$f" 2>/dev/null) && printf 'size %s %s\n' "${s%%[!0-9]*}" "$f"
	case $f in .tmp-*) continue ;; esac
	for m in manifest.json verified.json; do
		[ -f "$f/$m" ] && c=$(base64 -w0 <"$f/$m") && printf '%s %s %s\n' "$m" "$f" "$c"
	done
done
exit 0`

// listBackupsArgv is List's one command.
func listBackupsArgv(dir string) []string { return []string{"sh", "-c", listScript, "sh", dir} }

// List returns the backups in dir (the backups dir), newest first,
// including unfinished temporary ones (Temp, not Complete). A missing dir
// holds no backups. It runs one command on the host (listScript).
func List(ctx context.Context, r host.Runner, dir string) ([]Info, error) {
	out, err := output(ctx, r, listBackupsArgv(dir)...)
	if err != nil {
		return nil, fmt.Errorf("list backups in %s: %w", dir, err)
	}
	byName := map[string]*Info{}
	var names []string
	files := map[string]map[string][]byte{}
	for _, line := range strings.Split(out, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		a, b, _ := strings.Cut(rest, " ")
		switch kind {
		case "dir":
			name := b
			sec, err := strconv.ParseFloat(a, 64)
			if err != nil || !isBackupName(name) || !namePattern.MatchString(strings.TrimPrefix(name, ".")) {
				continue
			}
			mt := time.Unix(0, int64(sec*1e9)).UTC()
			byName[name] = &Info{ID: name, Path: path.Join(dir, name), ModTime: mt, Created: mt, Temp: strings.HasPrefix(name, TempPrefix)}
			names = append(names, name)
		case "size":
			if in := byName[b]; in != nil {
				in.Size, _ = strconv.ParseInt(a, 10, 64)
			}
		case ManifestFile, VerifiedFile:
			data, err := base64.StdEncoding.DecodeString(b)
			if err != nil || byName[a] == nil {
				continue
			}
			if files[a] == nil {
				files[a] = map[string][]byte{}
			}
			files[a][kind] = data
		}
	}
	var infos []Info
	for _, name := range names {
		in := byName[name]
		if t, ok := nameTime(in.ID); ok {
			in.Created = t
		}
		if !in.Temp {
			m, err := decodeManifest(in.Path, files[name][ManifestFile], files[name][ManifestFile] != nil)
			in.Complete = err == nil
			in.Version = m.Version
			if !m.Started.IsZero() {
				in.Created = m.Started
			}
			var v Verification
			if data := files[name][VerifiedFile]; in.Complete && data != nil && json.Unmarshal(data, &v) == nil {
				in.Verified, in.VerifiedAt = true, v.VerifiedAt
			}
		}
		infos = append(infos, *in)
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
	// One command for all of them.
	paths := make([]string, len(doomed))
	for i, id := range doomed {
		paths[i] = path.Join(dir, id)
	}
	if err := host.RemoveAll(ctx, r, paths...); err != nil {
		return nil, fmt.Errorf("prune %s: %w", strings.Join(doomed, ", "), err)
	}
	return doomed, nil
}
