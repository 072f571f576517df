package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// Resources is what ProbeResources found on a host: its memory and the
// free disk of the filesystem holding a directory. Each part has its own
// error, so a caller reports them as separate checks.
type Resources struct {
	Memory    MemInfo
	MemoryErr error  // reading /proc/meminfo failed
	Free      uint64 // bytes available to unprivileged users
	FreeAt    string // the directory df was asked about: dir or its nearest existing parent
	FreeErr   error  // df failed

	// What ProbeOptions asked besides; each nil when fine or not asked.
	User       string // the user the command ran as (id -un)
	WriteAt    string // ProbeOptions.WriteDir or its nearest existing parent
	WriteErr   error  // the user cannot write (or create) WriteDir
	DockerErr  error  // the user's docker CLI does not reach the daemon
	ComposeErr error  // the user's Compose cannot read ProbeOptions.ComposeFile
}

// ProbeOptions is what ProbeHost asks of a host, in its one command: the
// free disk of DiskDir and the memory always, and, as the user the command
// runs as (the deploy user over SSH), what starting a colour will need.
type ProbeOptions struct {
	DiskDir string
	// WriteDir, when set, must be writable, or creatable in its nearest
	// existing parent.
	WriteDir string
	// Docker asks `docker version` for the server: the CLI reaches the
	// daemon (its socket's permission). A host without the docker CLI
	// (Compose v1 alone) is not asked.
	Docker bool
	// Compose, when set, is the compose command line without --file and
	// command; ComposeFile is given to it as `--file <copy> config --quiet`
	// (a private temporary copy, removed after).
	Compose     []string
	ComposeFile []byte
}

// resourcesScript prints, as key=value lines, the nearest existing parent
// of $1 (disk.at), df -P -k of it (disk= per line, disk.err= on failure)
// and /proc/meminfo (mem= per line, mem.err= on failure). It always exits
// 0: the caller parses each part and reports each failure on its own. The
// first line marks it for fake hosts in tests.
const resourcesScript = `# blueshift:resources
p=$1
while [ ! -e "$p" ] && [ "$p" != / ] && [ "$p" != . ]; do p=$(dirname -- "$p"); done
printf 'disk.at=%s\n' "$p"
if o=$(df -P -k -- "$p" 2>&1); then k=disk; else k=disk.err; fi
printf '%s\n' "$o" | sed "s/^/$k=/"
if o=$(cat /proc/meminfo 2>&1); then k=mem; else k=mem.err; fi
printf '%s\n' "$o" | sed "s/^/$k=/"
printf 'user=%s\n' "$(id -un 2>/dev/null)"
if [ -n "$2" ]; then
  a=$2
  while [ ! -e "$a" ] && [ "$a" != / ] && [ "$a" != . ]; do a=$(dirname -- "$a"); done
  if [ -d "$a" ] && [ -w "$a" ] && [ -x "$a" ]; then k=write.at; else k=write.err; fi
  printf '%s=%s\n' "$k" "$a"
fi
if [ -n "$3" ] && command -v docker >/dev/null 2>&1; then
  if o=$(docker version --format '{{.Server.Version}}' 2>&1); then :; else printf '%s\n' "$o" | sed "s/^/docker.err=/"; fi
fi
shift 3
[ $# -gt 0 ] || exit 0
t=$(mktemp) || { echo "compose.err=mktemp failed"; exit 0; }
trap 'rm -f -- "$t"' EXIT
cat > "$t"
if o=$("$@" --file "$t" config --quiet 2>&1); then :; else printf '%s\n' "$o" | sed "s/^/compose.err=/"; fi`

// resourcesArgv is ProbeHost's one command for o; its stdin is
// o.ComposeFile.
func resourcesArgv(o ProbeOptions) []string {
	docker := ""
	if o.Docker {
		docker = "1"
	}
	argv := []string{"sh", "-c", resourcesScript, "sh", o.DiskDir, o.WriteDir, docker}
	if len(o.ComposeFile) > 0 {
		argv = append(argv, o.Compose...)
	}
	return argv
}

// ProbeResources reads the host's memory and the free disk of the
// filesystem holding dir (or its nearest existing parent) in one remote
// command: over SSH each command is a session (a round trip and a login
// shell), and this was one per path tested, one for df and one for
// /proc/meminfo. The error is for the command itself; the parts' own
// failures are in Resources.MemoryErr and FreeErr.
func ProbeResources(ctx context.Context, r Runner, dir string) (Resources, error) {
	return ProbeHost(ctx, r, ProbeOptions{DiskDir: dir})
}

// ProbeHost is ProbeResources asking, in the same one command, what o
// asks besides.
func ProbeHost(ctx context.Context, r Runner, o ProbeOptions) (Resources, error) {
	var out bytes.Buffer
	cmd := Cmd{Argv: resourcesArgv(o), Stdout: &out}
	if len(o.Compose) > 0 && len(o.ComposeFile) > 0 {
		cmd.Stdin = bytes.NewReader(o.ComposeFile)
	}
	if err := r.Run(ctx, cmd); err != nil {
		return Resources{}, fmt.Errorf("%s: memory and free disk at %s: %w", nameOf(r), o.DiskDir, err)
	}
	return parseResources(nameOf(r), o.DiskDir, out.String()), nil
}

// parseResources reads resourcesScript's output.
func parseResources(name, dir, out string) Resources {
	parts := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			parts[k] = append(parts[k], v)
		}
	}
	res := Resources{FreeAt: dir}
	if at := parts["disk.at"]; len(at) > 0 {
		res.FreeAt = at[0]
	}
	var err error
	switch {
	case len(parts["disk.err"]) > 0:
		err = errors.New(strings.Join(parts["disk.err"], "\n"))
	default:
		res.Free, err = parseDF([]byte(strings.Join(parts["disk"], "\n")))
	}
	if err != nil {
		res.FreeErr = fmt.Errorf("%s: free disk at %s: %w", name, res.FreeAt, err)
	}
	switch {
	case len(parts["mem.err"]) > 0:
		err = errors.New(strings.Join(parts["mem.err"], "\n"))
	default:
		res.Memory, err = parseMeminfo([]byte(strings.Join(parts["mem"], "\n")))
	}
	if err != nil {
		res.MemoryErr = fmt.Errorf("%s: memory: %w", name, err)
	}
	if u := parts["user"]; len(u) > 0 {
		res.User = u[0]
	}
	if at := parts["write.at"]; len(at) > 0 {
		res.WriteAt = at[0]
	}
	if at := parts["write.err"]; len(at) > 0 {
		res.WriteAt = at[0]
		res.WriteErr = fmt.Errorf("%s: %s cannot write to %s", name, res.User, at[0])
	}
	if e := parts["docker.err"]; len(e) > 0 {
		res.DockerErr = fmt.Errorf("%s: docker as %s: %s", name, res.User, strings.Join(e, "\n"))
	}
	if e := parts["compose.err"]; len(e) > 0 {
		res.ComposeErr = fmt.Errorf("%s: compose as %s: %s", name, res.User, strings.Join(e, "\n"))
	}
	return res
}
