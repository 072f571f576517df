package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

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
	// secretEnvScript reads KEY and encoded VALUE lines from stdin up to a
	// "." line, exports them and runs the command, which gets the rest of
	// stdin. Secrets never appear in any argv, here or on the host (SSH
	// would pass Cmd.Env by env(1)), and never in a file: a file made for
	// them would outlive a connection dropped between writing and deleting
	// it. The shell's read takes one byte at a time from a pipe or socket,
	// so nothing past the "." line is consumed. Values are encoded for
	// printf's %b (secretEnvInput); printf is a builtin of every sh (dash,
	// bash, busybox), so decoding runs no program either.
	secretEnvScript = `ok=; while IFS= read -r k; do if [ "$k" = . ]; then ok=1; break; fi; IFS= read -r v || exit 125; v=$(printf '%bx' "$v") || exit 125; export "$k=${v%x}"; done; [ -n "$ok" ] || exit 125; exec "$@"`
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

// secretEnvInput renders KEY=VALUE pairs as secretEnvScript reads them:
// a KEY line, a VALUE line with every byte other than a letter, a digit or
// one of "-_./:@=+,%" written as a \0NNN octal escape (so a value holds no
// newline and no backslash of its own), and a final "." line.
func secretEnvInput(env []string) ([]byte, error) {
	var b strings.Builder
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envName.MatchString(k) {
			return nil, fmt.Errorf("environment entry %q is not KEY=VALUE", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("environment entry %s: value holds a NUL byte", k)
		}
		b.WriteString(k + "\n")
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./:@=+,%", c) >= 0 {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "\\0%03o", c)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(".\n")
	return []byte(b.String()), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// runSecret runs cmd with cmd.Env holding secrets (or none). They travel on the
// command's own stdin, ahead of cmd.Stdin, and secretEnvScript exports them
// before running argv: one remote command, no file on the host, so a
// dropped connection leaves nothing behind. Argv of errors is the command
// that ran, without this or stdoutToFile's or stdinFromFile's wrapper
// (shownArgv), so an ExitError's short message names it.
func runSecret(ctx context.Context, r host.Runner, cmd host.Cmd) error {
	argv := cmd.Argv
	err := runSecretWrapped(ctx, r, cmd)
	var ee *host.ExitError
	if errors.As(err, &ee) {
		e := *ee
		e.Argv = shownArgv(argv) // show what ran, not the wrapper
		return &e
	}
	return err
}

func runSecretWrapped(ctx context.Context, r host.Runner, cmd host.Cmd) error {
	if len(cmd.Env) == 0 {
		return r.Run(ctx, cmd)
	}
	data, err := secretEnvInput(cmd.Env)
	if err != nil {
		return err
	}
	var stdin io.Reader = bytes.NewReader(data)
	if cmd.Stdin != nil {
		stdin = io.MultiReader(stdin, cmd.Stdin)
	}
	cmd.Argv = append([]string{"sh", "-c", secretEnvScript, "sh"}, cmd.Argv...)
	cmd.Env = nil
	cmd.Stdin = stdin
	return r.Run(ctx, cmd)
}

// shownArgv is argv as a person reads it: the command of a stdoutToFile or
// stdinFromFile wrapper, then "> out" or "< in".
func shownArgv(argv []string) []string {
	if len(argv) < 5 || argv[0] != "sh" || argv[1] != "-c" || argv[3] != "sh" {
		return argv
	}
	var redirect string
	switch argv[2] {
	case stdoutToFileScript:
		redirect = ">"
	case stdinFromFileScript:
		redirect = "<"
	default:
		return argv
	}
	return append(slices.Clone(argv[5:]), redirect, argv[4])
}
