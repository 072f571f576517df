package backup

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Directory name prefixes inside the backups dir.
const (
	PrefixPreDeploy  = "pre-deploy-"
	PrefixPreRestore = "pre-restore-"
	// TempPrefix marks a backup still being written (or abandoned by a
	// killed run). It is never listed as complete.
	TempPrefix = ".tmp-"
	// ManifestFile is the manifest's name inside a backup directory.
	ManifestFile = "manifest.json"
	// VerifiedFile records the last successful Verify of a backup.
	VerifiedFile = "verified.json"
	// TimeLayout is the timestamp in backup names (the seed's layout).
	TimeLayout = "20060102_150405"
)

var (
	// ErrExists is returned when the backup directory to be written
	// already exists.
	ErrExists = errors.New("backup already exists")
	// ErrIncomplete is returned for a backup without a complete manifest.
	ErrIncomplete = errors.New("backup is incomplete")
	// ErrNotFound is returned for a backup ID that is not in the backups dir.
	ErrNotFound = errors.New("backup not found")
)

// Manifest is manifest.json: what a backup holds and whether it finished.
type Manifest struct {
	ID          string     `json:"id"`
	App         string     `json:"app,omitempty"`
	Version     string     `json:"version,omitempty"`
	ToolVersion string     `json:"tool_version"`
	Started     time.Time  `json:"started"`
	Finished    time.Time  `json:"finished"`
	Artifacts   []Artifact `json:"artifacts"`
	// Complete is written last; a manifest without it is not a backup.
	Complete bool `json:"complete"`
}

// Event reports progress of a backup, a restore or a verification.
type Event struct {
	// Step is "source", "checksum", "manifest", "rename", "restore", "verify".
	Step string
	// Source is the source concerned, if any.
	Source string
	// Done is false when the step starts and true when it ended.
	Done bool
	// Elapsed is set when Done.
	Elapsed time.Duration
	Err     error
}

// Options say where a Plan writes and how it reports.
type Options struct {
	// AppDir is the application's directory on the host (required unless
	// Dir is set).
	AppDir string
	// Dir is the backups directory; default AppDir + "/backups".
	Dir string
	// App is the application's name, recorded in the manifest.
	App string
	// Version is the version about to be deployed; it goes into the
	// backup's name ("pre-deploy-<version>-<time>"). Default "unknown".
	Version string
	// Now returns the current time; default time.Now. Names use UTC.
	Now func() time.Time
	// ToolVersion is recorded in the manifest; default the blueshift
	// module version from the build info.
	ToolVersion string
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called at every step.
	Progress func(Event)
}

// Plan is a backup of one application on one host.
type Plan struct {
	Options
	// Runner runs every command on the host.
	Runner host.Runner
	// Sources are saved in order.
	Sources []Source
}

// Result describes a finished backup.
type Result struct {
	// ID is the backup directory's name; Path its full path on the host.
	ID, Path string
	Manifest Manifest
}

// BackupsDir returns the backups directory the plan writes into.
func (o Options) BackupsDir() string {
	if o.Dir != "" {
		return o.Dir
	}
	return path.Join(o.AppDir, "backups")
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (o Options) emit(e Event) {
	if o.Progress != nil {
		o.Progress(e)
	}
}

func (o Options) toolVersion() string {
	if o.ToolVersion != "" {
		return o.ToolVersion
	}
	return ToolVersion()
}

// ToolVersion is the blueshift module version compiled into this binary,
// or "devel".
func ToolVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	const mod = "github.com/blueshift-deploy/blueshift"
	if bi.Main.Path == mod && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			return d.Version
		}
	}
	return "devel"
}

// BackupID returns the name of a backup: prefix + version + "-" + time.
func BackupID(prefix, version string, t time.Time) string {
	if version == "" {
		version = "unknown"
	}
	return prefix + version + "-" + t.UTC().Format(TimeLayout)
}

func (p *Plan) validate() error {
	if p.Runner == nil {
		return errors.New("backup: plan has no Runner")
	}
	if !strings.HasPrefix(p.BackupsDir(), "/") {
		return fmt.Errorf("backup: backups dir %q: want an absolute path (set AppDir or Dir)", p.BackupsDir())
	}
	if p.Version != "" {
		if err := checkName("backup: version", p.Version); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, s := range p.Sources {
		if err := checkName("backup: source name", s.Name()); err != nil {
			return err
		}
		if seen[s.Name()] {
			return fmt.Errorf("backup: two sources are named %q: give one another name", s.Name())
		}
		seen[s.Name()] = true
	}
	return nil
}

// Create takes a pre-deploy backup: backups/pre-deploy-<version>-<time>/.
// On any failure the temporary directory is removed and no backup claims to
// be complete.
func (p *Plan) Create(ctx context.Context) (Result, error) {
	return p.create(ctx, PrefixPreDeploy)
}

func (p *Plan) create(ctx context.Context, prefix string) (res Result, err error) {
	if err := p.validate(); err != nil {
		return Result{}, err
	}
	r, log := p.Runner, p.logger()
	started := p.now()
	id := BackupID(prefix, p.Version, started)
	dir := p.BackupsDir()
	final := path.Join(dir, id)
	tmp := path.Join(dir, TempPrefix+id)

	// One command where there were three (test -e, mkdir, mkdir): over
	// SSH each is a session.
	var exit *host.ExitError
	if err := r.Run(ctx, host.Cmd{Argv: stageArgv(dir, final, tmp)}); errors.As(err, &exit) && exit.Code == stageExists {
		return Result{}, fmt.Errorf("backup %s: %w at %s: wait a second and retry", id, ErrExists, final)
	} else if errors.As(err, &exit) && exit.Code == stageNoDir {
		return Result{}, fmt.Errorf("backup %s: create backups dir: %w", id, err)
	} else if errors.As(err, &exit) && exit.Code == stageNoTemp {
		return Result{}, fmt.Errorf("backup %s: create temp dir %s (an earlier run may still be writing it): %w", id, tmp, err)
	} else if err != nil {
		return Result{}, fmt.Errorf("backup %s: %w", id, err)
	}
	defer func() {
		if err == nil {
			return
		}
		// Remove the partial backup even when ctx was cancelled.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rmErr := host.RemoveAll(cctx, r, tmp); rmErr != nil {
			log.Warn("backup: could not remove partial backup", "path", tmp, "err", rmErr)
			err = fmt.Errorf("%w (and removing the partial backup %s failed: %v)", err, tmp, rmErr)
		}
	}()

	m := Manifest{ID: id, App: p.App, Version: p.Version, ToolVersion: p.toolVersion(), Started: started}
	// The files blueshift makes itself (Inliner), written with the manifest.
	var files []File
	for _, s := range p.Sources {
		t0 := time.Now()
		p.emit(Event{Step: "source", Source: s.Name()})
		log.Debug("backup: source", "source", s.Name(), "dir", tmp)
		var arts []Artifact
		var fs []File
		if in, ok := s.(Inliner); ok {
			arts, fs, err = in.BackupInline(ctx, r, tmp)
		} else {
			arts, err = s.Backup(ctx, r, tmp)
		}
		p.emit(Event{Step: "source", Source: s.Name(), Done: true, Elapsed: time.Since(t0), Err: err})
		if err != nil {
			return Result{}, fmt.Errorf("backup %s: source %s: %w", id, s.Name(), err)
		}
		for _, f := range fs {
			if err := checkName("backup: inline file", f.Path); err != nil {
				return Result{}, fmt.Errorf("backup %s: source %s: %w", id, s.Name(), err)
			}
		}
		for i := range arts {
			arts[i].Source = s.Name()
		}
		m.Artifacts = append(m.Artifacts, arts...)
		files = append(files, fs...)
	}

	t0 := time.Now()
	p.emit(Event{Step: "checksum"})
	if err := checksumAll(ctx, r, tmp, m.Artifacts, files); err != nil {
		return Result{}, fmt.Errorf("backup %s: %w", id, err)
	}
	p.emit(Event{Step: "checksum", Done: true, Elapsed: time.Since(t0)})

	m.Finished = p.now()
	m.Complete = true
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Result{}, fmt.Errorf("backup %s: encode manifest: %w", id, err)
	}
	// Write the inline files and the manifest (from stdin; the directory
	// is not a backup until the rename, so no atomic write of their own is
	// needed), make the data durable before the rename makes it a backup,
	// rename, sync the rename (best effort): one command, where the
	// manifest's write was another and each inline file's one more.
	files = append(files, File{Path: ManifestFile, Data: append(data, '\n')})
	err = r.Run(ctx, host.Cmd{Argv: finishArgv(tmp, final, dir, syncArgv(tmp, m.Artifacts)), Dir: tmp,
		Stdin: strings.NewReader(finishInput(files))})
	if errors.As(err, &exit) && exit.Code == finishManifest {
		return Result{}, fmt.Errorf("backup %s: write manifest %s: %w", id, path.Join(tmp, ManifestFile), err)
	} else if errors.As(err, &exit) && exit.Code == finishRename {
		return Result{}, fmt.Errorf("backup %s: rename %s to %s: %w", id, tmp, final, err)
	} else if err != nil {
		return Result{}, fmt.Errorf("backup %s: sync: %w", id, err)
	}
	p.emit(Event{Step: "rename", Done: true})
	log.Debug("backup: complete", "id", id, "artifacts", len(m.Artifacts))
	return Result{ID: id, Path: final, Manifest: m}, nil
}

// Exit codes of stageArgv and finishArgv.
const (
	stageExists    = 17 // the final directory exists (EEXIST)
	stageNoDir     = 73 // the backups dir could not be created
	stageNoTemp    = 74 // the temporary directory could not be created
	finishManifest = 73 // writing the manifest from stdin failed
	finishRename   = 75 // the rename failed (the sync's own failure exits 74)
)

// stageArgv refuses when final exists, creates the backups dir and the
// backup's temporary directory (0700, which must not exist yet).
func stageArgv(dir, final, tmp string) []string {
	return []string{"sh", "-c", `[ ! -e "$2" ] || exit 17; mkdir -p -- "$1" || exit 73; mkdir -m 0700 -- "$3" || exit 74`,
		"sh", dir, final, tmp}
}

// finishArgv writes the files of its stdin (finishInput) into tmp (mode
// 0600), runs syncArgv (in tmp), renames tmp to final and syncs dir (best
// effort).
func finishArgv(tmp, final, dir string, sync []string) []string {
	return append([]string{"sh", "-c", finishScript, "sh", tmp, final, dir}, sync...)
}

// finishInput is finishArgv's stdin: a line per file, its name and its
// content in base64.
func finishInput(files []File) string {
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f.Path + " " + base64.StdEncoding.EncodeToString(f.Data) + "\n")
	}
	return b.String()
}

// finishScript is finishArgv's script; see the finish exit codes.
const finishScript = `tmp=$1 final=$2 dir=$3; shift 3
umask 077
while read -r f c; do printf '%s' "$c" | base64 -d >"$tmp/$f" || exit 73; done
"$@" || exit 74
mv -T -- "$tmp" "$final" || exit 75
sync -- "$dir" || true`

// syncArgv fsyncs the artifacts, the manifest and the backup directory
// (run in that directory).
func syncArgv(dir string, arts []Artifact) []string {
	argv := []string{"sync", "--"}
	seen := map[string]bool{}
	for _, a := range arts {
		argv = append(argv, a.Path)
		if i := strings.LastIndex(a.Path, "/"); i > 0 && !seen[a.Path[:i]] {
			seen[a.Path[:i]] = true
			argv = append(argv, a.Path[:i])
		}
	}
	return append(argv, ManifestFile, dir)
}

// checksumAll fills Size and SHA256 of every artifact: those of files from
// their data, the others' on the host (checksum).
func checksumAll(ctx context.Context, r host.Runner, dir string, arts []Artifact, files []File) error {
	inline := map[string][]byte{}
	for _, f := range files {
		inline[f.Path] = f.Data
	}
	var onHost []Artifact
	var at []int
	for i, a := range arts {
		if data, ok := inline[a.Path]; ok {
			sum := sha256.Sum256(data)
			arts[i].SHA256, arts[i].Size = hex.EncodeToString(sum[:]), int64(len(data))
			continue
		}
		onHost, at = append(onHost, a), append(at, i)
	}
	if err := checksum(ctx, r, dir, onHost); err != nil {
		return err
	}
	for j, i := range at {
		arts[i] = onHost[j]
	}
	return nil
}

// checksum fills Size and SHA256 of every artifact, computed on the host
// in one command (checksumArgv): over SSH each command is a session, and
// sha256sum and stat were two.
func checksum(ctx context.Context, r host.Runner, dir string, arts []Artifact) error {
	if len(arts) == 0 {
		return nil
	}
	paths, err := artifactPaths(arts)
	if err != nil {
		return err
	}
	var out boundedBuffer
	out.limit = maxSmallFile
	err = r.Run(ctx, host.Cmd{Argv: checksumArgv(paths), Dir: dir, Stdout: &out})
	var exit *host.ExitError
	if errors.As(err, &exit) && exit.Code == checksumStat {
		return fmt.Errorf("size artifacts: %w", err)
	} else if err != nil {
		return fmt.Errorf("checksum artifacts: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < len(paths) {
		return fmt.Errorf("checksum artifacts: sha256sum printed %d lines for %d files", len(lines), len(paths))
	}
	sums, err := parseSHA256(lines[:len(paths)], paths)
	if err != nil {
		return err
	}
	sizes, err := parseSizes(lines[len(paths):], paths)
	if err != nil {
		return err
	}
	for i := range arts {
		arts[i].SHA256, arts[i].Size = sums[i], sizes[i]
	}
	return nil
}

// checksumStat is checksumArgv's exit code when stat fails (sha256sum's
// own failure exits 3).
const checksumStat = 4

// checksumScript prints sha256sum --binary of its arguments, then their
// sizes, one a line (stat).
const checksumScript = `sha256sum --binary -- "$@" || exit 3; stat --printf '%s\n' -- "$@" || exit 4`

// checksumArgv is checksum's one command, run in the backup directory.
func checksumArgv(paths []string) []string {
	return append([]string{"sh", "-c", checksumScript, "sh"}, paths...)
}

func artifactPaths(arts []Artifact) ([]string, error) {
	paths := make([]string, len(arts))
	for i, a := range arts {
		if err := checkArtifactPath(a.Path); err != nil {
			return nil, err
		}
		paths[i] = a.Path
	}
	return paths, nil
}

// checkArtifactPath accepts relative paths of safe names ("compose/app.yml").
func checkArtifactPath(p string) error {
	parts := strings.Split(p, "/")
	for _, part := range parts {
		if err := checkName("artifact path element", part); err != nil {
			return fmt.Errorf("artifact %q: %w", p, err)
		}
	}
	return nil
}

func parseSHA256(lines, paths []string) ([]string, error) {
	sums := make([]string, len(paths))
	for i, line := range lines {
		sum, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(name, "*")
		if !ok || len(sum) != 64 || name != paths[i] {
			return nil, fmt.Errorf("checksum artifacts: unexpected sha256sum line %q", line)
		}
		sums[i] = sum
	}
	return sums, nil
}

func parseSizes(lines, paths []string) ([]int64, error) {
	if len(lines) != len(paths) {
		return nil, fmt.Errorf("size artifacts: stat printed %d sizes for %d files", len(lines), len(paths))
	}
	sizes := make([]int64, len(paths))
	for i, f := range lines {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("size artifacts: %q: %w", f, err)
		}
		sizes[i] = n
	}
	return sizes, nil
}

// ReadManifest reads and decodes manifest.json of the backup directory dir.
func ReadManifest(ctx context.Context, r host.Runner, dir string) (Manifest, error) {
	data, err := host.ReadFile(ctx, r, path.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: %s has no readable manifest: %w", ErrIncomplete, dir, err)
	}
	return decodeManifest(dir, data, true)
}

// decodeManifest decodes the manifest of the backup directory dir (read
// false: it has none) and checks it is complete.
func decodeManifest(dir string, data []byte, read bool) (Manifest, error) {
	if !read {
		return Manifest{}, fmt.Errorf("%w: %s has no readable manifest", ErrIncomplete, dir)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %s: decode manifest: %w", ErrIncomplete, dir, err)
	}
	if !m.Complete {
		return m, fmt.Errorf("%w: %s: manifest lacks \"complete\": true", ErrIncomplete, dir)
	}
	return m, nil
}
