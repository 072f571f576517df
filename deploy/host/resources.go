package host

import (
	"bufio"
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
printf '%s\n' "$o" | sed "s/^/$k=/"`

// resourcesArgv is ProbeResources' one command for dir.
func resourcesArgv(dir string) []string {
	return []string{"sh", "-c", resourcesScript, "sh", dir}
}

// ProbeResources reads the host's memory and the free disk of the
// filesystem holding dir (or its nearest existing parent) in one remote
// command: over SSH each command is a session (a round trip and a login
// shell), and this was one per path tested, one for df and one for
// /proc/meminfo. The error is for the command itself; the parts' own
// failures are in Resources.MemoryErr and FreeErr.
func ProbeResources(ctx context.Context, r Runner, dir string) (Resources, error) {
	out, err := Output(ctx, r, resourcesArgv(dir)...)
	if err != nil {
		return Resources{}, fmt.Errorf("%s: memory and free disk at %s: %w", nameOf(r), dir, err)
	}
	return parseResources(nameOf(r), dir, string(out)), nil
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
	return res
}
