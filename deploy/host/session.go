package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// How an SSH host runs commands (SSHConfig.Sessions, BLUESHIFT_SSH_SESSION).
const (
	// SessionsShared runs every command that qualifies through one
	// long-lived remote shell, framed over its stdin, stdout and stderr: a
	// command costs one round trip and no login-shell start-up. The
	// default.
	SessionsShared = "shared"
	// SessionsPerCommand opens a new SSH session (and so a new login
	// shell) for every command, as blueshift did before the shared shell.
	SessionsPerCommand = "per-command"
)

// SessionsEnv is the environment variable that sets SSHConfig.Sessions
// when the field is empty: "shared" or "per-command".
const SessionsEnv = "BLUESHIFT_SSH_SESSION"

// sessionsMode resolves SSHConfig.Sessions: the field, else $SessionsEnv,
// else SessionsShared.
func sessionsMode(field string) (string, error) {
	v, from := field, "SSHConfig.Sessions"
	if v == "" {
		v, from = os.Getenv(SessionsEnv), SessionsEnv
	}
	switch v {
	case "":
		return SessionsShared, nil
	case SessionsShared, SessionsPerCommand:
		return v, nil
	default:
		return "", fmt.Errorf("%s: %q is not a session mode: want %q or %q", from, v, SessionsShared, SessionsPerCommand)
	}
}

// shellDriver is the program of the shared shell, run by /bin/sh. It
// first prints a hello line on stdout and stderr (naming its PID, and
// whether head -c reads no more than it is asked to), then loops: read a
// header line "MARKER STDIN-LENGTH COMMAND-LINE" ("-" for no stdin), run
// the command line in a subshell with its stdin being exactly the next
// STDIN-LENGTH bytes of the shell's own stdin (whatever the command does
// not read is drained after it exits, so the stream stays in step), then
// print "MARKER" on stderr and "MARKER STATUS" on stdout. The variables
// are not exported: the programs run never see the marker.
const shellDriver = `__bs_nl="
"
__bs_h=$(printf ab | { head -c 1 >/dev/null; cat; })
printf '%s %s %s\n' "$1" "$$" "$__bs_h"
printf '%s\n' "$1" >&2
while IFS=' ' read -r __bs_m __bs_n __bs_c; do
	if [ "$__bs_n" = - ]; then
		( eval "$__bs_c" ) </dev/null
	else
		head -c "$__bs_n" | { ( eval "$__bs_c" ); __bs_r=$?; cat >/dev/null; exit "$__bs_r"; }
	fi
	__bs_r=$?
	printf '%s\n' "$__bs_m" >&2
	printf '%s %s\n' "$__bs_m" "$__bs_r"
done`

// shellHelloTimeout bounds the start of the shared shell (the login
// shell's start-up included) beyond the caller's context.
const shellHelloTimeout = 30 * time.Second

// errNoShell says the shared shell cannot be used for this command now:
// run it in a session of its own.
var errNoShell = errors.New("no shared shell")

// sharedShell is the long-lived remote shell of an SSH host. Only the
// holder of SSH.shellMu uses it.
type sharedShell struct {
	sess      *ssh.Session
	stdin     io.WriteCloser
	stdout    *frameReader
	stderr    *frameReader
	pid       int
	exactHead bool // head -c N reads exactly N bytes: stdin can be framed
}

// framable reports whether cmd may run through the shared shell: its
// stdin must be nil or held in memory (*bytes.Reader, *strings.Reader,
// *bytes.Buffer), so its length is known before it is sent, and no word
// may hold a NUL byte.
func framable(cmd Cmd) bool {
	if _, ok := stdinLen(cmd.Stdin); !ok {
		return false
	}
	for _, list := range [][]string{cmd.Argv, cmd.Env, {cmd.Dir}} {
		for _, w := range list {
			if strings.IndexByte(w, 0) >= 0 {
				return false
			}
		}
	}
	return true
}

// stdinLen is the number of bytes left in an in-memory stdin, -1 for none.
func stdinLen(r io.Reader) (int64, bool) {
	switch r := r.(type) {
	case nil:
		return -1, true
	case *bytes.Reader:
		return int64(r.Len()), true
	case *strings.Reader:
		return int64(r.Len()), true
	case *bytes.Buffer:
		return int64(r.Len()), true
	default:
		return 0, false
	}
}

// runShared runs cmd through the shared shell, opening it first when
// there is none. It returns errNoShell when cmd must run in a session of
// its own instead. The caller holds s.shellMu.
func (s *SSH) runShared(ctx context.Context, cmd Cmd) error {
	line, err := commandLine(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	if err := ctx.Err(); err != nil {
		return s.runErr(cmd, err)
	}
	sh, err := s.sharedShell(ctx, cmd)
	if err != nil {
		return err
	}
	n, _ := stdinLen(cmd.Stdin)
	if n >= 0 && !sh.exactHead {
		return errNoShell
	}

	marker := newMarker()
	tail := newStderrTail()
	var stderr io.Writer = tail
	if cmd.Stderr != nil {
		stderr = io.MultiWriter(cmd.Stderr, tail)
	}
	// Output reaches the caller's writers only until Run returns.
	x := &sharedCmd{sh: sh, cmd: cmd, n: n, marker: marker, header: sharedHeader(marker, n, line),
		out: &gateWriter{w: cmd.Stdout}, err: &gateWriter{w: stderr}}
	defer x.out.close()
	defer x.err.close()
	status, err := s.exchange(ctx, x)
	if err != nil {
		return err
	}
	return s.sharedResult(x, status, tail)
}

// sharedShell is the open shared shell, opened now if there is none. Its
// error is errNoShell (run cmd in a session of its own) or cmd's error.
func (s *SSH) sharedShell(ctx context.Context, cmd Cmd) (*sharedShell, error) {
	if s.shell != nil {
		return s.shell, nil
	}
	sh, err := s.openShell(ctx)
	if err != nil {
		if errors.Is(err, errNoShell) {
			return nil, err
		}
		return nil, s.runErr(cmd, err)
	}
	s.shell = sh
	return sh, nil
}

// sharedHeader is the line announcing a command to the shared shell's
// driver: the marker, the stdin length (n bytes, "-" when unknown) and
// the command line. The header is one line: a newline inside a quoted
// word is spelled as the driver's $__bs_nl.
func sharedHeader(marker string, n int64, line string) string {
	header := marker + " -"
	if n >= 0 {
		header = marker + " " + strconv.FormatInt(n, 10)
	}
	return header + " " + strings.ReplaceAll(line, "\n", `'"$__bs_nl"'`) + "\n"
}

// sharedCmd is one command sent through the shared shell.
type sharedCmd struct {
	sh       *sharedShell
	cmd      Cmd
	n        int64 // stdin bytes to send (<= 0: none)
	marker   string
	header   string
	out, err *gateWriter
}

// streamEnd is what one of the shell's output streams ended with.
type streamEnd struct {
	trailer string
	err     error
}

// exchange sends x's header and stdin and copies the shell's stdout and
// stderr to x's writers up to the marker; it returns the exit status the
// driver wrote after the marker on stdout. A stream out of step, a
// cancelled ctx or a lost connection drop the shell; the error is then
// the command's.
func (s *SSH) exchange(ctx context.Context, x *sharedCmd) (string, error) {
	wrote := make(chan error, 1)
	go func() { wrote <- x.send() }()
	outDone := make(chan streamEnd, 1)
	errDone := make(chan streamEnd, 1)
	go func() {
		t, err := x.sh.stdout.copyUntil(x.out, x.marker)
		outDone <- streamEnd{t, err}
	}()
	go func() {
		t, err := x.sh.stderr.copyUntil(x.err, x.marker)
		errDone <- streamEnd{t, err}
	}()

	var status string
	var failed error
	for pending := 3; pending > 0; pending-- {
		select {
		case err := <-wrote:
			wrote = nil
			if err != nil {
				failed = fmt.Errorf("send to shared shell: %w", err)
			}
		case r := <-outDone:
			outDone = nil
			status, failed = r.trailer, r.err
		case r := <-errDone:
			errDone = nil
			failed = r.err
		case <-ctx.Done():
			s.dropShell(true)
			return "", s.runErr(x.cmd, ctx.Err())
		case <-s.done:
			s.dropShell(false)
			return "", s.runErr(x.cmd, s.lost())
		}
		if failed != nil {
			// The stream is out of step or gone: the shell cannot be
			// trusted with another command.
			s.dropShell(true)
			return "", s.runErr(x.cmd, s.connErr(fmt.Errorf("%w: shared shell: %v", ErrConnectionLost, failed)))
		}
	}
	return status, nil
}

// send writes x's header and its n bytes of stdin to the shell.
func (x *sharedCmd) send() error {
	_, err := io.WriteString(x.sh.stdin, x.header)
	if err == nil && x.n > 0 {
		var copied int64
		copied, err = io.CopyN(x.sh.stdin, x.cmd.Stdin, x.n)
		if err == nil && copied != x.n {
			err = io.ErrShortWrite
		}
	}
	return err
}

// sharedResult is the command's result from the exit status the driver
// wrote and what writing its output did.
func (s *SSH) sharedResult(x *sharedCmd, status string, tail *stderrTail) error {
	code, err := strconv.Atoi(strings.TrimSpace(status))
	if err != nil {
		s.dropShell(true)
		return s.runErr(x.cmd, fmt.Errorf("shared shell: bad exit status %q", status))
	}
	if werr := x.out.err; werr != nil {
		return s.runErr(x.cmd, fmt.Errorf("write stdout: %w", werr))
	}
	if code != 0 {
		return &ExitError{Host: s.name, Argv: x.cmd.Argv, Code: code, StderrTail: tail.String()}
	}
	if werr := x.err.err; werr != nil {
		return s.runErr(x.cmd, fmt.Errorf("write stderr: %w", werr))
	}
	return nil
}

// openShell starts the shared shell: one session whose login shell execs
// /bin/sh running shellDriver. It returns errNoShell when no session slot
// is free (the command then waits for one in a session of its own) or
// when the host cannot run the driver (then every later command runs in
// its own session).
func (s *SSH) openShell(ctx context.Context) (*sharedShell, error) {
	select {
	case s.sessions <- struct{}{}:
	default:
		return nil, errNoShell
	}
	sh, err := s.startShell(ctx)
	if err != nil {
		<-s.sessions
		return nil, err
	}
	return sh, nil
}

func (s *SSH) startShell(ctx context.Context) (*sharedShell, error) {
	sess, err := s.newSession(ctx)
	if err != nil {
		return nil, err
	}
	sh := &sharedShell{sess: sess}
	stdin, err1 := sess.StdinPipe()
	stdout, err2 := sess.StdoutPipe()
	stderr, err3 := sess.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		sess.Close()
		return nil, fmt.Errorf("shared shell: %w", err)
	}
	sh.stdin = stdin
	sh.stdout = &frameReader{r: stdout}
	sh.stderr = &frameReader{r: stderr}
	hello := newMarker()
	if err := sess.Start("exec /bin/sh -c " + quoteWord(shellDriver) + " sh " + hello); err != nil {
		sess.Close()
		return nil, s.connErr(fmt.Errorf("start shared shell: %w", err))
	}

	// Whatever the login shell's start-up files print comes before the
	// hello line and is dropped.
	type result struct {
		trailer string
		err     error
	}
	got := make(chan result, 2)
	go func() {
		t, err := sh.stdout.copyUntil(io.Discard, hello)
		got <- result{t, err}
	}()
	go func() {
		_, err := sh.stderr.copyUntil(io.Discard, hello)
		got <- result{"", err}
	}()
	timeout := time.NewTimer(shellHelloTimeout)
	defer timeout.Stop()
	var trailer string
	for i := 0; i < 2; i++ {
		var r result
		select {
		case r = <-got:
		case <-ctx.Done():
			s.closeShell(sh, true)
			return nil, ctx.Err()
		case <-s.done:
			sess.Close()
			return nil, s.lost()
		case <-timeout.C:
			r.err = fmt.Errorf("no hello within %s", shellHelloTimeout)
		}
		if r.err != nil {
			s.closeShell(sh, true)
			if lost := s.connErr(nil); lost != nil {
				return nil, lost
			}
			s.noShell.Store(true)
			s.log.Debug("ssh: no shared shell on this host; a session per command from now on", "host", s.name, "err", r.err)
			return nil, errNoShell
		}
		if r.trailer != "" {
			trailer = r.trailer
		}
	}
	// trailer is " PID PROBE".
	f := strings.Fields(trailer)
	pid := 0
	if len(f) >= 1 {
		pid, _ = strconv.Atoi(f[0])
	}
	if pid <= 1 {
		s.closeShell(sh, true)
		s.noShell.Store(true)
		s.log.Debug("ssh: shared shell sent a bad hello; a session per command from now on", "host", s.name, "hello", trailer)
		return nil, errNoShell
	}
	sh.pid = pid
	sh.exactHead = len(f) == 2 && f[1] == "b"
	if !sh.exactHead {
		s.log.Debug("ssh: head -c reads ahead on this host; commands with stdin get a session each", "host", s.name)
	}
	s.log.Debug("ssh: shared shell started", "host", s.name, "pid", pid)
	return sh, nil
}

// dropShell closes the shared shell after a command left it unusable
// (cancelled, out of step, dead), killing what runs in it when kill is
// set. The next command opens a new one. The caller holds s.shellMu.
func (s *SSH) dropShell(kill bool) {
	if s.shell == nil {
		return
	}
	s.closeShell(s.shell, kill)
	s.shell = nil
	<-s.sessions
}

// closeIdleShell closes the shared shell if no command is using it, giving
// its session slot to a command that needs a session of its own (with
// MaxSessions 1, or while many commands run at once).
func (s *SSH) closeIdleShell() {
	if !s.shellMu.TryLock() {
		return
	}
	defer s.shellMu.Unlock()
	s.dropShell(false)
}

// closeShell ends sh: SIGKILL to the session (ignored by OpenSSH for root
// logins), a kill of its process group (the driver leads it, and every
// command it runs is in it) from a second session, then the channel.
func (s *SSH) closeShell(sh *sharedShell, kill bool) {
	if kill && s.lost() == nil {
		_ = sh.sess.Signal(ssh.SIGKILL)
		if sh.pid > 1 {
			s.kill(sh.pid)
		}
	}
	sh.sess.Close()
}

// newMarker is a random word no program's output contains by chance.
func newMarker() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "bs-" + hex.EncodeToString(b)
}

// frameReader reads one stream of the shared shell, command by command.
type frameReader struct {
	r   io.Reader
	buf []byte // read from r, not yet handed on
}

// copyUntil copies the stream to w up to the next marker and returns the
// rest of the marker's line. Output is passed on as it arrives, except
// for a last few bytes that could begin the marker, held back until the
// next read decides. A failing w does not stop the copy
// (the stream must be read to the marker to stay in step).
func (f *frameReader) copyUntil(w io.Writer, marker string) (string, error) {
	m := []byte(marker)
	chunk := make([]byte, 32<<10)
	f.buf = f.buf[:0] // stray output between commands belongs to none
	for {
		if i := bytes.Index(f.buf, m); i >= 0 {
			write(w, f.buf[:i])
			f.buf = append(f.buf[:0], f.buf[i+len(m):]...)
			for {
				if j := bytes.IndexByte(f.buf, '\n'); j >= 0 {
					trailer := string(f.buf[:j])
					f.buf = append(f.buf[:0], f.buf[j+1:]...)
					return trailer, nil
				}
				if err := f.fill(chunk); err != nil {
					return "", err
				}
			}
		}
		if safe := len(f.buf) - partialMarker(f.buf, m); safe > 0 {
			write(w, f.buf[:safe])
			f.buf = append(f.buf[:0], f.buf[safe:]...)
		}
		if err := f.fill(chunk); err != nil {
			return "", err
		}
	}
}

// partialMarker is the length of the longest end of b that begins m: the
// bytes to hold back, so that output is passed on live but never a part
// of the marker.
func partialMarker(b, m []byte) int {
	for k := min(len(b), len(m)-1); k > 0; k-- {
		if bytes.HasSuffix(b, m[:k]) {
			return k
		}
	}
	return 0
}

func (f *frameReader) fill(chunk []byte) error {
	n, err := f.r.Read(chunk)
	f.buf = append(f.buf, chunk[:n]...)
	if err == io.EOF && n > 0 {
		return nil
	}
	if err == io.EOF {
		return errors.New("the remote shell ended")
	}
	return err
}

func write(w io.Writer, p []byte) {
	if len(p) > 0 {
		_, _ = w.Write(p)
	}
}

// gateWriter passes writes on to w (nil: discards) until closed, and
// keeps the first error w returned instead of passing it back.
type gateWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
	err    error
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.w == nil || g.err != nil {
		return len(p), nil
	}
	if _, err := g.w.Write(p); err != nil {
		g.err = err
	}
	return len(p), nil
}

func (g *gateWriter) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
