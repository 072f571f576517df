package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	pathpkg "path"
	"strconv"
	"strings"
)

// The helpers below work on any Runner (Local, SSH, a fake) by running
// POSIX/coreutils programs; the argv each one runs is built by a pure
// function pinned in tests. Paths are paths on the host.

// WriteFileAtomic replaces path with the contents of data: it writes a
// temporary file in the same directory (created 0600 by mktemp, so
// secrets are never readable by others), fsyncs it, sets mode, renames it
// over path and fsyncs the directory. Readers see the old file or the new
// one, never a part. On failure the temporary file is removed. It is
// WriteFile with WriteOptions{Mode: mode}: one remote command.
func WriteFileAtomic(ctx context.Context, r Runner, path string, data io.Reader, mode os.FileMode) error {
	return WriteFile(ctx, r, path, data, WriteOptions{Mode: mode})
}

// WriteOptions tune WriteFile.
type WriteOptions struct {
	// Mode is the file's mode (its permission bits).
	Mode os.FileMode
	// DirMode, when not zero, creates the file's directory (and missing
	// parents, as mkdir -p) first; a directory created at the file's
	// parent gets DirMode, an existing one keeps its own. Zero: the
	// directory must exist.
	DirMode os.FileMode
	// IfSHA256, when set, makes the write conditional: the file is
	// replaced only while its current contents have this SHA-256 (hex), or
	// while it is missing when IfSHA256 is NoFile. Otherwise nothing is
	// written and the error wraps ErrChanged. It lets a caller that read a
	// file replace it in one command without overwriting another writer's
	// change (the check and the rename are not one atomic step: callers
	// serialise their writers, e.g. under the deploy lock, and this
	// catches the writer that broke in).
	IfSHA256 string
}

// NoFile is WriteOptions.IfSHA256 for "only if the file does not exist".
const NoFile = "absent"

// ErrChanged is wrapped by WriteFile's error when WriteOptions.IfSHA256
// did not match the file on the host.
var ErrChanged = errors.New("file changed on the host since it was read")

// Exit codes of the file scripts (sysexits.h), which no program they run
// returns for these conditions.
const (
	exitNoInput   = 66 // read: the file does not exist
	exitCantCreat = 73 // write: the directory or the temporary file could not be created
	exitIOErr     = 74 // write: writing, chmod or rename failed
	exitTempFail  = 75 // write: IfSHA256 did not match
)

// WriteFile replaces path with the contents of data atomically and
// durably, as WriteFileAtomic describes, with the extras of o.
//
// Why one script: over SSH every command is a session (a round trip plus
// the login shell's start-up), and this write used to be seven of them
// (mkdir, mktemp, dd, chmod, mv, sync, and rm on failure); a deployment
// writes state and files about twenty times. The steps and their order are
// unchanged, so are the guarantees: the data goes to a mktemp file in the
// same directory (0600 until chmod), is fsynced (dd conv=fsync), renamed
// over path with mv -T, and the directory is synced; any failure before
// the rename removes the temporary file (the shell's EXIT trap).
func WriteFile(ctx context.Context, r Runner, path string, data io.Reader, o WriteOptions) error {
	if err := checkPath(path); err != nil {
		return fmt.Errorf("%s: write %s: %w", nameOf(r), path, err)
	}
	err := r.Run(ctx, Cmd{Argv: writeFileArgv(path, o), Stdin: data})
	var exit *ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.Code == exitTempFail:
		return fmt.Errorf("%s: write %s: %w", nameOf(r), path, ErrChanged)
	case errors.As(err, &exit) && exit.Code == exitCantCreat:
		return fmt.Errorf("%s: write %s: create temporary file (does the directory exist and is it writable?): %w", nameOf(r), path, err)
	default:
		return fmt.Errorf("%s: write %s: %w", nameOf(r), path, err)
	}
}

// ReadFile returns the contents of path. A missing file returns an error
// wrapping fs.ErrNotExist. One remote command: the script tells a missing
// file by its exit code (formerly a second command, `test -e`, did).
func ReadFile(ctx context.Context, r Runner, path string) ([]byte, error) {
	var out bytes.Buffer
	err := r.Run(ctx, Cmd{Argv: readArgv(path), Stdout: &out})
	if err == nil {
		return out.Bytes(), nil
	}
	var exit *ExitError
	if errors.As(err, &exit) && exit.Code == exitNoInput {
		return nil, fmt.Errorf("%s: read %s: %w", nameOf(r), path, fs.ErrNotExist)
	}
	return nil, fmt.Errorf("%s: read %s: %w", nameOf(r), path, err)
}

// Exists reports whether path exists on the host (following symlinks).
func Exists(ctx context.Context, r Runner, path string) (bool, error) {
	err := r.Run(ctx, Cmd{Argv: existsArgv(path)})
	var exit *ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.Code == 1:
		return false, nil
	default:
		return false, fmt.Errorf("%s: check %s: %w", nameOf(r), path, err)
	}
}

// MkdirAll creates path and any missing parents; a directory it creates
// at path gets mode (an existing one keeps its own).
func MkdirAll(ctx context.Context, r Runner, path string, mode os.FileMode) error {
	if err := checkPath(path); err != nil {
		return fmt.Errorf("%s: mkdir %s: %w", nameOf(r), path, err)
	}
	if err := r.Run(ctx, Cmd{Argv: mkdirArgv(path, mode)}); err != nil {
		return fmt.Errorf("%s: mkdir %s: %w", nameOf(r), path, err)
	}
	return nil
}

// Remove removes the file at path; a missing file is not an error.
func Remove(ctx context.Context, r Runner, path string) error {
	if err := checkPath(path); err != nil {
		return fmt.Errorf("%s: remove %s: %w", nameOf(r), path, err)
	}
	if err := r.Run(ctx, Cmd{Argv: removeArgv(path)}); err != nil {
		return fmt.Errorf("%s: remove %s: %w", nameOf(r), path, err)
	}
	return nil
}

// RemoveAll removes each path and everything below it, in one command; a
// missing path is not an error. It refuses "/" and relative paths (and
// then removes none).
func RemoveAll(ctx context.Context, r Runner, paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	for _, path := range paths {
		if !strings.HasPrefix(path, "/") || pathpkg.Clean(path) == "/" {
			return fmt.Errorf("%s: remove all %q: refusing: want an absolute path other than /", nameOf(r), path)
		}
	}
	if err := r.Run(ctx, Cmd{Argv: removeAllArgv(paths...)}); err != nil {
		return fmt.Errorf("%s: remove all %s: %w", nameOf(r), strings.Join(paths, ", "), err)
	}
	return nil
}

// FreeDisk returns the bytes available to unprivileged users on the file
// system holding path.
func FreeDisk(ctx context.Context, r Runner, path string) (uint64, error) {
	out, err := Output(ctx, r, freeDiskArgv(path)...)
	if err != nil {
		return 0, fmt.Errorf("%s: free disk at %s: %w", nameOf(r), path, err)
	}
	free, err := parseDF(out)
	if err != nil {
		return 0, fmt.Errorf("%s: free disk at %s: %w", nameOf(r), path, err)
	}
	return free, nil
}

// MemInfo is a host's memory in bytes.
type MemInfo struct {
	Total     uint64
	Available uint64 // what new processes can get without swapping
}

// Memory reads the host's /proc/meminfo.
func Memory(ctx context.Context, r Runner) (MemInfo, error) {
	out, err := Output(ctx, r, memoryArgv()...)
	if err != nil {
		return MemInfo{}, fmt.Errorf("%s: memory: %w", nameOf(r), err)
	}
	m, err := parseMeminfo(out)
	if err != nil {
		return MemInfo{}, fmt.Errorf("%s: memory: %w", nameOf(r), err)
	}
	return m, nil
}

// Command lines: pure functions, pinned in files_test.go.

// writeFileScript is WriteFile's one command; its arguments are the
// directory, the file's base name, the mode, the directory's mode (empty:
// do not create it) and the expected SHA-256 (empty: unconditional). The
// first line marks it for fake hosts in tests.
const writeFileScript = `# blueshift:write-file
set -u
d=$1 f=$2 m=$3 dm=$4 want=$5
if [ -n "$dm" ]; then mkdir -p -m "$dm" -- "$d" || exit 73; fi
if [ -n "$want" ]; then
	have=absent
	if [ -e "$d/$f" ]; then have=$(sha256sum < "$d/$f") || exit 74; have=${have%% *}; fi
	[ "$have" = "$want" ] || { echo "$d/$f changed on the host (sha256 $have, expected $want)" >&2; exit 75; }
fi
t=$(mktemp -p "$d" ".$f.tmp-XXXXXXXXXX") || exit 73
trap 'rm -f -- "$t"' EXIT
dd of="$t" bs=64k conv=fsync,notrunc status=none || exit 74
chmod "$m" -- "$t" || exit 74
mv -f -T -- "$t" "$d/$f" || exit 74
trap - EXIT
sync -- "$d" || true
`

// readScript prints the file named by its argument; a missing file exits 66.
const readScript = `# blueshift:read-file
[ -e "$1" ] || exit 66
exec cat -- "$1"`

func writeFileArgv(path string, o WriteOptions) []string {
	dm := ""
	if o.DirMode != 0 {
		dm = fmt.Sprintf("%04o", uint32(o.DirMode.Perm()))
	}
	return []string{"sh", "-c", writeFileScript, "sh", parentDir(path), pathBase(path),
		fmt.Sprintf("%04o", uint32(o.Mode.Perm())), dm, o.IfSHA256}
}

func readArgv(path string) []string { return []string{"sh", "-c", readScript, "sh", path} }

func existsArgv(path string) []string { return []string{"test", "-e", path} }
func removeArgv(path string) []string { return []string{"rm", "-f", "--", path} }
func removeAllArgv(paths ...string) []string {
	return append([]string{"rm", "-rf", "--"}, paths...)
}
func freeDiskArgv(path string) []string { return []string{"df", "-P", "-k", "--", path} }
func memoryArgv() []string              { return []string{"cat", "/proc/meminfo"} }

func mkdirArgv(path string, mode os.FileMode) []string {
	return []string{"mkdir", "-p", "-m", fmt.Sprintf("%04o", uint32(mode.Perm())), "--", path}
}

func checkPath(p string) error {
	if p == "" || strings.HasSuffix(p, "/") {
		return errors.New("want a file path")
	}
	return nil
}

func parentDir(p string) string { return pathpkg.Dir(p) }
func pathBase(p string) string  { return pathpkg.Base(p) }

// parseDF reads the Available column (KiB) of `df -P -k`. Columns are
// found from the capacity ("NN%") field so that file system names and
// mount points with spaces do not shift them.
func parseDF(out []byte) (uint64, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return 0, fmt.Errorf("unexpected df output %q", string(out))
	}
	fields := strings.Fields(strings.Join(lines[1:], " "))
	for i := 3; i < len(fields); i++ {
		if !strings.HasSuffix(fields[i], "%") {
			continue
		}
		avail, err := strconv.ParseUint(fields[i-1], 10, 64)
		if err != nil {
			continue
		}
		return avail * 1024, nil
	}
	return 0, fmt.Errorf("no capacity column in df output %q", string(out))
}

// parseMeminfo reads MemTotal and MemAvailable (kB) from /proc/meminfo;
// kernels before 3.14 lack MemAvailable: MemFree+Buffers+Cached then.
func parseMeminfo(out []byte) (MemInfo, error) {
	kb := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			kb[name] = v
		}
	}
	total, ok := kb["MemTotal"]
	if !ok {
		return MemInfo{}, errors.New("no MemTotal in /proc/meminfo")
	}
	avail, ok := kb["MemAvailable"]
	if !ok {
		avail = kb["MemFree"] + kb["Buffers"] + kb["Cached"]
	}
	return MemInfo{Total: total * 1024, Available: avail * 1024}, nil
}

// nameOf is r's name for error messages.
func nameOf(r Runner) string {
	if n, ok := r.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "host"
}
