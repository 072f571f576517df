package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// The shell is used for exactly two things the host's programs cannot do on
// their own: sending a command's stdout into a file on the host, and feeding
// a file on the host to a command's stdin. The script is constant; file and
// argv are passed as positional parameters, so nothing is ever quoted into it.
const (
	stdoutToFileScript  = `out=$1; shift; exec "$@" >"$out"`
	stdinFromFileScript = `in=$1; shift; exec "$@" <"$in"`
	writeStdinScript    = `umask 077; cat >"$1"`
)

// stdoutToFile is argv that runs argv on the host with its stdout written to
// the host file out.
func stdoutToFile(out string, argv ...string) []string {
	return append([]string{"sh", "-c", stdoutToFileScript, "sh", out}, argv...)
}

// stdinFromFile is argv that runs argv on the host reading the host file in.
func stdinFromFile(in string, argv ...string) []string {
	return append([]string{"sh", "-c", stdinFromFileScript, "sh", in}, argv...)
}

// writeFile writes small, tool-generated data (JSON) to path on the host.
func writeFile(ctx context.Context, r host.Runner, path string, data []byte) error {
	err := r.Run(ctx, host.Cmd{
		Argv:  []string{"sh", "-c", writeStdinScript, "sh", path},
		Stdin: bytes.NewReader(data),
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// maxSmallFile bounds what readFile accepts: manifests and markers only.
const maxSmallFile = 4 << 20

// errTooLarge is returned by boundedBuffer past its limit.
var errTooLarge = errors.New("file too large")

type boundedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

// readFile reads a small file (a manifest) from the host.
func readFile(ctx context.Context, r host.Runner, path string) ([]byte, error) {
	buf := &boundedBuffer{limit: maxSmallFile}
	if err := r.Run(ctx, host.Cmd{Argv: []string{"cat", "--", path}, Stdout: buf}); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf.Bytes(), nil
}

// exists reports whether path exists on the host (test -e).
func exists(ctx context.Context, r host.Runner, path string) (bool, error) {
	err := r.Run(ctx, host.Cmd{Argv: []string{"test", "-e", path}})
	var ee *host.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.Code == 1:
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", path, err)
	}
}

// output runs argv and returns its trimmed stdout.
func output(ctx context.Context, r host.Runner, argv ...string) (string, error) {
	return outputEnv(ctx, r, nil, argv...)
}

func outputEnv(ctx context.Context, r host.Runner, env []string, argv ...string) (string, error) {
	buf := &boundedBuffer{limit: maxSmallFile}
	err := r.Run(ctx, host.Cmd{Argv: argv, Env: env, Stdout: buf})
	return strings.TrimSpace(buf.String()), err
}

// joinPath joins host paths with "/" (the host is a Unix machine whatever
// blueshift runs on).
func joinPath(elem ...string) string {
	var parts []string
	for i, e := range elem {
		if e == "" {
			continue
		}
		if i > 0 {
			e = strings.TrimPrefix(e, "/")
		}
		if len(parts) > 0 {
			parts[len(parts)-1] = strings.TrimSuffix(parts[len(parts)-1], "/")
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, "/")
}

// parentDir returns the parent of a host path.
func parentDir(p string) string {
	p = strings.TrimSuffix(p, "/")
	i := strings.LastIndex(p, "/")
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	default:
		return p[:i]
	}
}

// baseName returns the last element of a host path.
func baseName(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
