package backup

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Media archives a directory (uploaded files) as <artifact>.tar.gz: a
// directory on the host, or a named Docker volume. For a volume, tar runs on
// the host over the volume's mountpoint (found with docker volume inspect;
// needs a runner allowed to read it, normally root); when that is not
// readable it falls back to tar inside a running container that mounts the
// volume. File names, modes and numeric owners are preserved.
//
// Exactly one of Path and Volume must be set.
type Media struct {
	// Artifact names the source and its file; default "media".
	Artifact string
	// Path is a directory on the host.
	Path string
	// Volume is a Docker volume name.
	Volume string
}

var _ interface {
	Restorer
	Estimator
	ToolChecker
	Prober
} = (*Media)(nil)

// ErrNoContainer is returned when a volume's mountpoint is not readable and
// no running container mounts it.
var ErrNoContainer = errors.New("no running container mounts the volume")

// Name returns Artifact or "media".
func (m *Media) Name() string { return orDefault(m.Artifact, "media") }

func (m *Media) file() string { return m.Name() + ".tar.gz" }

// mediaLocation is where the files are: a host path, or a path in a
// container.
type mediaLocation struct {
	path      string // on the host, or in container
	container string
}

func (m *Media) check() error {
	if (m.Path == "") == (m.Volume == "") {
		return fmt.Errorf("media source %s: set exactly one of Path and Volume", m.Name())
	}
	return nil
}

// volumeInspectArgv prints a volume's mountpoint.
func volumeInspectArgv(volume string) []string {
	return []string{"docker", "volume", "inspect", "--format", "{{.Mountpoint}}", "--", volume}
}

// volumeContainersArgv lists running containers mounting volume.
func volumeContainersArgv(volume string) []string {
	return []string{"docker", "ps", "--quiet", "--filter", "volume=" + volume}
}

// volumeDestinationArgv prints where container mounts volume.
func volumeDestinationArgv(container, volume string) []string {
	tmpl := `{{range .Mounts}}{{if eq .Name "` + volume + `"}}{{.Destination}}{{end}}{{end}}`
	return []string{"docker", "container", "inspect", "--format", tmpl, "--", container}
}

// locate finds the files: the host path, the volume's mountpoint when the
// runner can read it, else a container mounting the volume.
func (m *Media) locate(ctx context.Context, r host.Runner) (mediaLocation, error) {
	if err := m.check(); err != nil {
		return mediaLocation{}, err
	}
	if m.Path != "" {
		return mediaLocation{path: m.Path}, nil
	}
	if !namePattern.MatchString(m.Volume) {
		return mediaLocation{}, fmt.Errorf("media source %s: volume %q: not a Docker volume name", m.Name(), m.Volume)
	}
	mp, err := output(ctx, r, volumeInspectArgv(m.Volume)...)
	if err != nil {
		return mediaLocation{}, fmt.Errorf("media source %s: inspect volume %s (does it exist?): %w", m.Name(), m.Volume, err)
	}
	if mp != "" && r.Run(ctx, host.Cmd{Argv: []string{"test", "-r", mp, "-a", "-x", mp}}) == nil {
		return mediaLocation{path: mp}, nil
	}
	ids, err := output(ctx, r, volumeContainersArgv(m.Volume)...)
	if err != nil {
		return mediaLocation{}, fmt.Errorf("media source %s: find a container mounting volume %s: %w", m.Name(), m.Volume, err)
	}
	if ids == "" {
		return mediaLocation{}, fmt.Errorf("media source %s: volume %s: mountpoint %s is not readable by this user and %w: run as root or start the app", m.Name(), m.Volume, mp, ErrNoContainer)
	}
	c := strings.Fields(ids)[0]
	dest, err := output(ctx, r, volumeDestinationArgv(c, m.Volume)...)
	if err != nil || dest == "" {
		return mediaLocation{}, fmt.Errorf("media source %s: where container %s mounts volume %s: %v", m.Name(), c, m.Volume, err)
	}
	return mediaLocation{path: dest, container: c}, nil
}

// tarCreateArgv archives dir on the host into out (GNU tar).
func tarCreateArgv(dir, out string) []string {
	return []string{"tar", "--create", "--gzip", "--numeric-owner", "--file=" + out, "--directory=" + dir, "."}
}

// tarListArgv lists an archive on the host; stdout is discarded.
func tarListArgv(archive string) []string {
	return []string{"tar", "--list", "--gzip", "--file=" + archive}
}

// Backup archives the files into <artifact>.tar.gz in dir, in one command:
// tar for a path; for a volume, mediaBackupScript.
func (m *Media) Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	out := path.Join(dir, m.file())
	if m.Path != "" {
		if err := r.Run(ctx, host.Cmd{Argv: tarCreateArgv(m.Path, out)}); err != nil {
			return nil, fmt.Errorf("archive %s: %w", m.Path, err)
		}
		return []Artifact{{Path: m.file(), Kind: KindTarGz}}, nil
	}
	if !namePattern.MatchString(m.Volume) {
		return nil, fmt.Errorf("media source %s: volume %q: not a Docker volume name", m.Name(), m.Volume)
	}
	err := r.Run(ctx, host.Cmd{Argv: mediaBackupArgv(m.Volume, out)})
	var exit *host.ExitError
	switch {
	case err == nil:
		return []Artifact{{Path: m.file(), Kind: KindTarGz}}, nil
	case errors.As(err, &exit) && exit.Code == mediaNoVolume:
		return nil, fmt.Errorf("media source %s: inspect volume %s (does it exist?): %w", m.Name(), m.Volume, err)
	case errors.As(err, &exit) && exit.Code == mediaNoContainer:
		return nil, fmt.Errorf("media source %s: volume %s: its mountpoint is not readable by this user and %w: run as root or start the app", m.Name(), m.Volume, ErrNoContainer)
	case errors.As(err, &exit) && exit.Code == mediaNoMount:
		return nil, fmt.Errorf("media source %s: where a container mounts volume %s: %w", m.Name(), m.Volume, err)
	default:
		return nil, fmt.Errorf("archive volume %s: %w", m.Volume, err)
	}
}

// Exit codes of mediaBackupScript besides tar's own.
const (
	mediaNoVolume    = 70 // docker volume inspect failed
	mediaNoContainer = 71 // mountpoint unreadable and no running container mounts the volume
	mediaNoMount     = 72 // the container's mount of the volume was not found
)

// mediaBackupScript archives volume $1 into the host file $2: tar on the
// host over the volume's mountpoint when this user can read it, else tar
// inside a running container that mounts it (short options: its tar may be
// busybox). One command where there were three to five (volume inspect,
// test -r, then docker ps and container inspect for the fallback, tar):
// over SSH each was a session. The volume name is a checked Docker name,
// safe inside the inspect template. The first line marks it for fake hosts
// in tests.
const mediaBackupScript = `# blueshift:media-backup
v=$1 out=$2
p=$(docker volume inspect --format '{{.Mountpoint}}' -- "$v") || exit 70
if [ -n "$p" ] && [ -r "$p" ] && [ -x "$p" ]; then
	exec tar --create --gzip --numeric-owner --file="$out" --directory="$p" .
fi
c=$(docker ps --quiet --filter "volume=$v") && c=${c%%[!0-9a-f]*} && [ -n "$c" ] || exit 71
d=$(docker container inspect --format "{{range .Mounts}}{{if eq .Name \"$v\"}}{{.Destination}}{{end}}{{end}}" -- "$c") && [ -n "$d" ] || exit 72
exec docker exec "$c" tar -czf - -C "$d" . >"$out"`

// mediaBackupArgv is Backup's command for a volume.
func mediaBackupArgv(volume, out string) []string {
	return []string{"sh", "-c", mediaBackupScript, "sh", volume, out}
}

// restoreSteps is the command sequence that replaces the contents of the
// host directory target with the archive: extract into a staging directory
// beside it (so a broken archive changes nothing), empty target, move the
// extracted entries in, take over the archived root's mode.
func restoreSteps(archive, target, staging string) [][]string {
	return [][]string{
		{"tar", "--extract", "--gzip", "--numeric-owner", "--same-owner", "--preserve-permissions", "--file=" + archive, "--directory=" + staging},
		{"find", target, "-mindepth", "1", "-delete"},
		{"find", staging, "-mindepth", "1", "-maxdepth", "1", "-exec", "mv", "-t", target, "--", "{}", "+"},
		{"chmod", "--reference=" + staging, "--", target},
		{"rmdir", "--", staging},
	}
}

// containerRestoreSteps replace dir inside container with the archive.
func containerRestoreSteps(container, archive, dir string) [][]string {
	return [][]string{
		{"docker", "exec", container, "find", dir, "-mindepth", "1", "-delete"},
		stdinFromFile(archive, "docker", "exec", "-i", container, "tar", "-xzpf", "-", "-C", dir),
	}
}

// Restore replaces the directory's (or volume's) contents with the archive.
func (m *Media) Restore(ctx context.Context, r host.Runner, dir string, arts []Artifact) error {
	a, err := oneArtifact(m.Name(), arts, KindTarGz)
	if err != nil {
		return err
	}
	archive := path.Join(dir, a.Path)
	loc, err := m.locate(ctx, r)
	if err != nil {
		return err
	}
	if loc.container != "" {
		for _, argv := range containerRestoreSteps(loc.container, archive, loc.path) {
			if err := runSecret(ctx, r, host.Cmd{Argv: argv}); err != nil {
				return fmt.Errorf("restore %s: %w", m.describe(loc), err)
			}
		}
		return nil
	}
	if err := r.Run(ctx, host.Cmd{Argv: []string{"mkdir", "-p", "--", loc.path}}); err != nil {
		return fmt.Errorf("restore %s: %w", m.describe(loc), err)
	}
	staging, err := output(ctx, r, "mktemp", "-d", "--tmpdir="+path.Dir(loc.path), ".blueshift-restore-XXXXXX")
	if err != nil {
		return fmt.Errorf("restore %s: create staging dir beside it: %w", m.describe(loc), err)
	}
	steps := restoreSteps(archive, loc.path, staging)
	if err := r.Run(ctx, host.Cmd{Argv: steps[0]}); err != nil {
		_ = r.Run(context.WithoutCancel(ctx), host.Cmd{Argv: []string{"rm", "-rf", "--", staging}})
		return fmt.Errorf("restore %s: extract %s (nothing was changed): %w", m.describe(loc), archive, err)
	}
	for _, argv := range steps[1:] {
		if err := r.Run(ctx, host.Cmd{Argv: argv}); err != nil {
			return fmt.Errorf("restore %s: %w (extracted files are in %s)", m.describe(loc), err, staging)
		}
	}
	return nil
}

// Estimate returns du -sb of the files.
func (m *Media) Estimate(ctx context.Context, r host.Runner) (int64, error) {
	loc, err := m.locate(ctx, r)
	if err != nil {
		return 0, err
	}
	argv := []string{"du", "-sb", "--", loc.path}
	if loc.container != "" {
		argv = append([]string{"docker", "exec", loc.container}, "du", "-sk", loc.path)
	}
	out, err := output(ctx, r, argv...)
	if err != nil {
		return 0, fmt.Errorf("estimate size of %s: %w", m.describe(loc), err)
	}
	n, err := strconv.ParseInt(strings.Fields(out + " x")[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("estimate size of %s: du printed %q", m.describe(loc), out)
	}
	if loc.container != "" {
		n *= 1024
	}
	return n, nil
}

// CheckTools checks tar (and docker for a volume) on the host, in one
// command: over SSH each command is a session, and this was two.
func (m *Media) CheckTools(ctx context.Context, r host.Runner) error {
	err := r.Run(ctx, host.Cmd{Argv: mediaToolsArgv(m.Volume != "")})
	var exit *host.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.Code == 4:
		return fmt.Errorf("docker is not available on the host (media volume %s): %w", m.Volume, err)
	default:
		return fmt.Errorf("tar is not available on the host: %w", err)
	}
}

// mediaToolsScript runs `tar --version` and, when its argument is "docker",
// `docker version`; it exits 3 when tar fails and 4 when docker does.
const mediaToolsScript = `tar --version >/dev/null || exit 3
[ "$1" != docker ] || docker version --format '{{.Server.Version}}' >/dev/null || exit 4`

func mediaToolsArgv(docker bool) []string {
	arg := "-"
	if docker {
		arg = "docker"
	}
	return []string{"sh", "-c", mediaToolsScript, "sh", arg}
}

func (m *Media) describe(loc mediaLocation) string {
	switch {
	case loc.container != "":
		return fmt.Sprintf("volume %s in container %s at %s", m.Volume, loc.container, loc.path)
	case m.Volume != "":
		return fmt.Sprintf("volume %s at %s", m.Volume, loc.path)
	default:
		return loc.path
	}
}

// mediaProbeScript is Probe's one command: it checks tar (and, for a
// volume, docker), finds a volume's mountpoint and whether it is readable
// here, and measures the files with du -sb, printing key=value lines:
// tools=tar|docker with err= lines when a tool fails; inspect.err= lines
// when the volume cannot be inspected; readable=no when its mountpoint
// cannot be read by this user (the caller then looks for a container);
// size= or size.err= lines. It always exits 0. Its arguments are "volume"
// or "path", and the volume's name or the path. The first line marks it
// for fake hosts in tests.
const mediaProbeScript = `# blueshift:media-probe
set -u
e=$(tar --version 2>&1 >/dev/null) || { echo tools=tar; printf '%s\n' "$e" | sed 's/^/err=/'; exit 0; }
p=$2
if [ "$1" = volume ]; then
	e=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null) || { echo tools=docker; printf '%s\n' "$e" | sed 's/^/err=/'; exit 0; }
	p=$(docker volume inspect --format '{{.Mountpoint}}' -- "$2" 2>&1) || { printf '%s\n' "$p" | sed 's/^/inspect.err=/'; exit 0; }
	printf 'mountpoint=%s\n' "$p"
	[ -n "$p" ] && [ -r "$p" ] && [ -x "$p" ] || { echo readable=no; exit 0; }
fi
if o=$(du -sb -- "$p" 2>&1); then k=size; else k=size.err; fi
printf '%s\n' "$o" | sed "s/^/$k=/"`

// mediaProbeArgv is Probe's command for a volume (volume != "") or a path.
func mediaProbeArgv(volume, dir string) []string {
	if volume != "" {
		return []string{"sh", "-c", mediaProbeScript, "sh", "volume", volume}
	}
	return []string{"sh", "-c", mediaProbeScript, "sh", "path", dir}
}

// Probe is CheckTools and Estimate in one remote command (mediaProbeScript)
// where they were up to five (tools, volume inspect, test -r, du); a
// volume whose mountpoint this user cannot read falls back to Estimate,
// which finds a container mounting it.
func (m *Media) Probe(ctx context.Context, r host.Runner) (int64, error, error) {
	if err := m.check(); err != nil {
		return 0, nil, err
	}
	if m.Volume != "" && !namePattern.MatchString(m.Volume) {
		return 0, nil, fmt.Errorf("media source %s: volume %q: not a Docker volume name", m.Name(), m.Volume)
	}
	out, err := output(ctx, r, mediaProbeArgv(m.Volume, m.Path)...)
	if err != nil {
		return 0, nil, fmt.Errorf("media source %s: check tools and size: %w", m.Name(), err)
	}
	kv := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = append(kv[k], v)
		}
	}
	text := func(k string) string { return strings.Join(kv[k], "\n") }
	switch t := text("tools"); {
	case t == "docker":
		return 0, fmt.Errorf("docker is not available on the host (media volume %s): %s", m.Volume, text("err")), nil
	case t != "":
		return 0, fmt.Errorf("tar is not available on the host: %s", text("err")), nil
	case len(kv["inspect.err"]) > 0:
		return 0, nil, fmt.Errorf("media source %s: inspect volume %s (does it exist?): %s", m.Name(), m.Volume, text("inspect.err"))
	case text("readable") == "no":
		n, err := m.Estimate(ctx, r)
		return n, nil, err
	}
	loc := mediaLocation{path: m.Path}
	if m.Volume != "" {
		loc.path = text("mountpoint")
	}
	if len(kv["size.err"]) > 0 {
		return 0, nil, fmt.Errorf("estimate size of %s: %s", m.describe(loc), text("size.err"))
	}
	n, err := strconv.ParseInt(strings.Fields(text("size") + " x")[0], 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("estimate size of %s: du printed %q", m.describe(loc), text("size"))
	}
	return n, nil, nil
}
