package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// The shell is used for what the host's programs cannot do on their own:
// sending a command's stdout into a file on the host, feeding a file on the
// host to a command's stdin, and loading credentials from a file. Scripts are
// constant; files and argv are passed as positional parameters, so nothing
// is ever quoted into them.
const (
	stdoutToFileScript  = `out=$1; shift; exec "$@" >"$out"`
	stdinFromFileScript = `in=$1; shift; exec "$@" <"$in"`
	// secretEnvScript loads KEY=VALUE pairs from a 0600 file written
	// through stdin, deletes it and runs the command: secrets never appear
	// in any argv, here or on the host (SSH would pass Cmd.Env by env(1)).
	secretEnvScript = `set -a; . "$1" || exit 125; set +a; rm -f -- "$1"; shift; exec "$@"`
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

// maxSmallFile bounds command output kept in memory (IDs, JSON from docker).
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

// output runs argv and returns its trimmed stdout.
func output(ctx context.Context, r host.Runner, argv ...string) (string, error) {
	return outputEnv(ctx, r, nil, argv...)
}

func outputEnv(ctx context.Context, r host.Runner, env []string, argv ...string) (string, error) {
	buf := &boundedBuffer{limit: maxSmallFile}
	err := runSecret(ctx, r, host.Cmd{Argv: argv, Env: env, Stdout: buf})
	return strings.TrimSpace(buf.String()), err
}

// writeJSON writes small, tool-generated data to path on the host,
// atomically, mode 0600.
func writeJSON(ctx context.Context, r host.Runner, path string, data []byte) error {
	return host.WriteFileAtomic(ctx, r, path, bytes.NewReader(data), 0o600)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// secretEnvFile renders KEY=VALUE pairs as a shell file to source.
func secretEnvFile(env []string) ([]byte, error) {
	var b strings.Builder
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envName.MatchString(k) {
			return nil, fmt.Errorf("environment entry %q is not KEY=VALUE", k)
		}
		b.WriteString(k + "=" + shellQuote(v) + "\n")
	}
	return []byte(b.String()), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// runSecret runs cmd with cmd.Env holding secrets: they go to a fresh 0600
// file on the host through stdin, which the command's shell sources and
// deletes before running argv. Argv of errors is cmd's own argv.
func runSecret(ctx context.Context, r host.Runner, cmd host.Cmd) error {
	if len(cmd.Env) == 0 {
		return r.Run(ctx, cmd)
	}
	data, err := secretEnvFile(cmd.Env)
	if err != nil {
		return err
	}
	tmp, err := output(ctx, r, "mktemp")
	if err != nil {
		return fmt.Errorf("create a private temporary file for credentials: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = r.Run(cctx, host.Cmd{Argv: []string{"rm", "-f", "--", tmp}})
	}()
	if err := r.Run(ctx, host.Cmd{Argv: []string{"sh", "-c", `cat >"$1"`, "sh", tmp}, Stdin: bytes.NewReader(data)}); err != nil {
		return fmt.Errorf("write credentials to %s: %w", tmp, err)
	}
	argv := cmd.Argv
	cmd.Argv = append([]string{"sh", "-c", secretEnvScript, "sh", tmp}, argv...)
	cmd.Env = nil
	err = r.Run(ctx, cmd)
	var ee *host.ExitError
	if errors.As(err, &ee) {
		e := *ee
		e.Argv = argv // show what ran, not the wrapper
		return &e
	}
	return err
}
