package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"unicode/utf8"
)

// Cmd is one command to run on a host. Argv is never joined into a shell
// string except once, quoted, at the SSH boundary.
type Cmd struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH.
	Argv []string
	// Dir is the working directory on the host; empty means the default
	// (the process's own directory locally, the login directory over SSH).
	Dir string
	// Env holds extra KEY=VALUE pairs added to the host's environment.
	Env []string
	// ClearEnv gives the command Env alone instead of the host's
	// environment plus Env (locally the process's environment, over SSH
	// the session's: the remote line starts with "env -i"). A command
	// that must not see the deployment's secrets runs this way.
	ClearEnv bool
	// Stdin, Stdout and Stderr are streamed; nil means empty input and
	// discarded output (the tail of stderr is still kept for ExitError).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Runner runs commands on a host.
type Runner interface {
	// Run runs cmd and waits for it. A command that ran and exited non-zero
	// returns an *ExitError; a command that could not be started (or whose
	// connection dropped) returns another error.
	Run(ctx context.Context, cmd Cmd) error
}

// Dialer opens connections to addresses as seen from the host: "tcp"
// ("127.0.0.1:5432") or "unix" ("/var/run/docker.sock"). Returned conns
// support deadlines.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Host is a machine blueshift deploys to.
type Host interface {
	Runner
	Dialer
	// Name is how the host is shown to people ("local", "deploy@the-bot.ru:22").
	Name() string
	// Close releases the connection; a closed Host returns ErrClosed.
	Close() error
}

// ErrClosed is returned by a Host used after Close.
var ErrClosed = errors.New("host: closed")

// ErrConnectionLost is wrapped by errors caused by a dropped connection to
// the host (an SSH session that died mid-command, a keepalive that timed out).
var ErrConnectionLost = errors.New("connection to host lost")

// ErrCommandNotFound matches (errors.Is) an *ExitError with code 127, the
// shell's "command not found"; Local returns such an ExitError when the
// program is not in PATH, as a shell on an SSH host does.
var ErrCommandNotFound = errors.New("command not found")

// ExitError is a command that ran on a host and exited non-zero.
//
// Its message is one short line: the host, the command cut to about 80
// characters, the exit status and the last non-blank line of stderr (a
// Python traceback's exception, a shell's complaint). The whole argv and
// the last lines of stderr stay in Argv and StderrTail for a summary or a
// log that shows more.
type ExitError struct {
	Host string
	Argv []string
	// Code is the exit status; a program killed by signal N has 128+N,
	// as shells report it.
	Code int
	// StderrTail is the last StderrTailLines non-blank lines of stderr
	// (at most 4 KiB), each trimmed, joined by newlines.
	StderrTail string
}

// StderrTailLines is how many of its last stderr lines an ExitError keeps.
const StderrTailLines = 20

// Is reports whether target is ErrCommandNotFound and the code is 127.
func (e *ExitError) Is(target error) bool {
	return target == ErrCommandNotFound && e.Code == 127
}

// Error is "host: command…: exit status N: last line of stderr".
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: %s: exit status %d", e.Host, shortCommand(e.Argv, commandShown), e.Code)
	if l := lastLine(e.StderrTail); l != "" {
		msg += ": " + cut(l, stderrLineShown)
	}
	return msg
}

// commandShown is about how many characters of a command an ExitError's
// message shows; stderrLineShown is the same for its stderr line.
const (
	commandShown    = 80
	stderrLineShown = 300
)

// shortCommand is argv joined by spaces, white space (a script's newlines)
// collapsed, cut to about n characters with "…". A script run as
// `sh -c SCRIPT NAME ARGS…` (a script of several lines or over 40
// characters) is shown by its name and arguments
// ("sh -c … blueshift-lock /srv/app/.blueshift 30"): its first 80
// characters would say less.
func shortCommand(argv []string, n int) string {
	if len(argv) > 3 && (argv[0] == "sh" || argv[0] == "bash") && argv[1] == "-c" &&
		(strings.Contains(argv[2], "\n") || len(argv[2]) > 40) { // a one-liner says what it is
		argv = append([]string{argv[0], argv[1], "…"}, argv[3:]...)
	}
	return cut(strings.Join(strings.Fields(strings.Join(argv, " ")), " "), n)
}

// lastLines returns the last n non-blank lines of s, each trimmed.
func lastLines(s string, n int) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines[max(0, len(lines)-n):]
}

// lastLine is the last non-blank line of s, trimmed, or "".
func lastLine(s string) string {
	if l := lastLines(s, 1); len(l) > 0 {
		return l[0]
	}
	return ""
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// stderrTailSize is how many bytes of a command's stderr a runner keeps
// for its ExitError.
const stderrTailSize = 4096

// TailBuffer is an io.Writer that keeps the last N bytes written to it: a
// Cmd's Stdout or Stderr whose size must stay bounded however much the
// command prints.
type TailBuffer struct {
	N   int
	buf []byte
}

// Write keeps the last N bytes of what was written so far; it never fails.
func (t *TailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.N; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// Bytes returns the bytes kept.
func (t *TailBuffer) Bytes() []byte { return t.buf }

// String returns the bytes kept as a string.
func (t *TailBuffer) String() string { return string(t.buf) }

// stderrTail collects a command's stderr for its ExitError.
type stderrTail struct{ TailBuffer }

func newStderrTail() *stderrTail { return &stderrTail{TailBuffer{N: stderrTailSize}} }

// String returns the last StderrTailLines non-blank lines, for
// ExitError.StderrTail.
func (t *stderrTail) String() string {
	return strings.Join(lastLines(t.TailBuffer.String(), StderrTailLines), "\n")
}

// Output runs argv on r and returns its stdout.
func Output(ctx context.Context, r Runner, argv ...string) ([]byte, error) {
	var out strings.Builder
	err := r.Run(ctx, Cmd{Argv: argv, Stdout: &out})
	return []byte(out.String()), err
}
