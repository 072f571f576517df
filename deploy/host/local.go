package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// localWaitDelay bounds how long Run waits for output copying after the
// process was killed or exited.
const localWaitDelay = 5 * time.Second

// Local is the machine blueshift itself runs on.
type Local struct {
	closed atomic.Bool
}

// NewLocal returns the local machine as a Host.
func NewLocal() *Local { return &Local{} }

// Name returns "local".
func (l *Local) Name() string { return "local" }

// Close marks l closed; later calls fail with ErrClosed.
func (l *Local) Close() error { l.closed.Store(true); return nil }

// Run runs cmd as a child process.
func (l *Local) Run(ctx context.Context, cmd Cmd) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if len(cmd.Argv) == 0 {
		return errors.New("host: run: empty argv")
	}
	c := exec.CommandContext(ctx, cmd.Argv[0], cmd.Argv[1:]...)
	c.Dir = cmd.Dir
	switch {
	case cmd.ClearEnv:
		c.Env = append([]string{}, cmd.Env...) // non-nil: nothing inherited
	case len(cmd.Env) > 0:
		c.Env = append(os.Environ(), cmd.Env...)
	}
	// Output pipes held open by a grandchild must not keep a cancelled
	// Run waiting forever.
	c.WaitDelay = localWaitDelay
	c.Stdin = cmd.Stdin
	c.Stdout = cmd.Stdout
	tail := newStderrTail()
	if cmd.Stderr != nil {
		c.Stderr = io.MultiWriter(cmd.Stderr, tail)
	} else {
		c.Stderr = tail
	}
	err := c.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %s: %w", l.Name(), strings.Join(cmd.Argv, " "), ctx.Err())
	case errors.Is(err, exec.ErrNotFound):
		// What a shell reports, so Local and SSH agree.
		return &ExitError{Host: l.Name(), Argv: cmd.Argv, Code: 127, StderrTail: cmd.Argv[0] + ": command not found"}
	case errors.As(err, &exitErr):
		code := exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // as a shell (and SSH) reports it
		}
		return &ExitError{Host: l.Name(), Argv: cmd.Argv, Code: code, StderrTail: tail.String()}
	default:
		return fmt.Errorf("%s: run %s: %w", l.Name(), strings.Join(cmd.Argv, " "), err)
	}
}

// DialContext dials network and addr from this machine.
func (l *Local) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
