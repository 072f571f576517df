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
	"time"
)

// The helpers below work on any Runner (Local, SSH, a fake) by running
// POSIX/coreutils programs; the argv each one runs is built by a pure
// function pinned in tests. Paths are paths on the host.

// WriteFileAtomic replaces path with the contents of data: it writes a
// temporary file in the same directory (created 0600 by mktemp, so
// secrets are never readable by others), fsyncs it, sets mode, renames it
// over path and fsyncs the directory. Readers see the old file or the new
// one, never a part. On failure the temporary file is removed.
func WriteFileAtomic(ctx context.Context, r Runner, path string, data io.Reader, mode os.FileMode) error {
	if err := checkPath(path); err != nil {
		return fmt.Errorf("%s: write %s: %w", nameOf(r), path, err)
	}
	out, err := Output(ctx, r, mktempArgv(path)...)
	if err != nil {
		return fmt.Errorf("%s: write %s: create temporary file (does the directory exist and is it writable?): %w", nameOf(r), path, err)
	}
	tmp := strings.TrimSpace(string(out))
	if tmp == "" || strings.Contains(tmp, "\n") {
		return fmt.Errorf("%s: write %s: mktemp printed no file name", nameOf(r), path)
	}
	steps := []struct {
		what string
		cmd  Cmd
	}{
		{"write temporary file", Cmd{Argv: writeArgv(tmp), Stdin: data}},
		{"chmod", Cmd{Argv: chmodArgv(tmp, mode)}},
		{"rename", Cmd{Argv: renameArgv(tmp, path)}},
	}
	for _, s := range steps {
		if err := r.Run(ctx, s.cmd); err != nil {
			cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = r.Run(cleanup, Cmd{Argv: removeArgv(tmp)})
			cancel()
			return fmt.Errorf("%s: write %s: %s: %w", nameOf(r), path, s.what, err)
		}
	}
	// Make the rename durable. Best effort: a sync that fails here does
	// not undo a rename that happened.
	_ = r.Run(ctx, Cmd{Argv: syncArgv(parentDir(path))})
	return nil
}

// ReadFile returns the contents of path. A missing file returns an error
// wrapping fs.ErrNotExist.
func ReadFile(ctx context.Context, r Runner, path string) ([]byte, error) {
	var out bytes.Buffer
	err := r.Run(ctx, Cmd{Argv: readArgv(path), Stdout: &out})
	if err == nil {
		return out.Bytes(), nil
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if ok, existsErr := Exists(ctx, r, path); existsErr == nil && !ok {
			return nil, fmt.Errorf("%s: read %s: %w", nameOf(r), path, fs.ErrNotExist)
		}
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

// RemoveAll removes path and everything below it; a missing path is not
// an error. It refuses "/" and relative paths.
func RemoveAll(ctx context.Context, r Runner, path string) error {
	if !strings.HasPrefix(path, "/") || pathpkg.Clean(path) == "/" {
		return fmt.Errorf("%s: remove all %q: refusing: want an absolute path other than /", nameOf(r), path)
	}
	if err := r.Run(ctx, Cmd{Argv: removeAllArgv(path)}); err != nil {
		return fmt.Errorf("%s: remove all %s: %w", nameOf(r), path, err)
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

func mktempArgv(path string) []string {
	return []string{"mktemp", "-p", parentDir(path), "." + pathBase(path) + ".tmp-XXXXXXXXXX"}
}

func writeArgv(tmp string) []string {
	return []string{"dd", "of=" + tmp, "bs=64k", "conv=fsync,notrunc", "status=none"}
}

func chmodArgv(path string, mode os.FileMode) []string {
	return []string{"chmod", fmt.Sprintf("%04o", uint32(mode.Perm())), "--", path}
}

func renameArgv(from, to string) []string { return []string{"mv", "-f", "-T", "--", from, to} }
func syncArgv(path string) []string       { return []string{"sync", "--", path} }
func readArgv(path string) []string       { return []string{"cat", "--", path} }
func existsArgv(path string) []string     { return []string{"test", "-e", path} }
func removeArgv(path string) []string     { return []string{"rm", "-f", "--", path} }
func removeAllArgv(path string) []string  { return []string{"rm", "-rf", "--", path} }
func freeDiskArgv(path string) []string   { return []string{"df", "-P", "-k", "--", path} }
func memoryArgv() []string                { return []string{"cat", "/proc/meminfo"} }

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
