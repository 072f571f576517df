package hosttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Fake is a host.Host for unit tests that needs no Docker Engine, sshd or
// nginx. Its files and shell scripts are real: every command runs on this
// machine (host.Local), typically under a temporary directory the test uses
// as the app's path, so state's lock and atomic-write scripts and
// host.WriteFile really run. The programs a deployment drives, `docker`,
// `docker compose`, `docker-compose` and `nginx`, are answered by the
// in-memory Model instead, whether they are run directly or from inside a
// shell script (a shim first in the scripts' PATH forwards them to the
// model; a command run with ClearEnv gets Env alone, and no shims).
// DialContext sends each loopback port a running container publishes to
// the test's HTTP handler (Model.SetApp), and the colour server of the
// upstream file nginx last loaded to an answer of that colour; other
// addresses are dialled for real. It passes the conformance suite of deploy/host as Local does.
//
// Each command the fake runs is one host.Runner call, as over SSH: an
// engine opened on it (deploy.Options.Host) counts remote commands per
// phase exactly as on a real host.
//
// Engine returns a Docker Engine API client over the same model, for
// deploy.Options.Docker. A Fake is safe for concurrent use.
type Fake struct {
	// Model is what the fake's Docker, Compose and nginx know; tests read
	// it to assert what a phase changed and set its failure knobs.
	Model *Model

	local   *host.Local
	dir     string
	shimDir string
	shimSrv *shimServer

	mu      sync.Mutex
	servers map[int]*httptest.Server // a published port's server
	// colourSrv answers for nginx's colour server (colourServer).
	colourSrv *httptest.Server
	closed    bool
}

// NewFake returns a fake host whose model is empty; it is closed at
// cleanup. Dir is a fresh temporary directory for the test's files.
func NewFake(t TB) *Fake {
	t.Helper()
	f := &Fake{Model: NewModel(), local: host.NewLocal(), dir: fastTempDir(t), servers: map[int]*httptest.Server{}}
	f.Model.volumeRoot = filepath.Join(f.dir, "volumes")
	srv, shimDir, err := startShims(f)
	if err != nil {
		t.Fatalf("fake host: %v", err)
	}
	f.shimSrv, f.shimDir = srv, shimDir
	t.Cleanup(func() { f.Close() })
	return f
}

// fastTempDir is a temporary directory removed at cleanup, in memory
// (/dev/shm) where there is one: the scripts' fsyncs then cost nothing,
// which halves a deployment's time on a busy disk.
func fastTempDir(t TB) string {
	if dir, err := os.MkdirTemp("/dev/shm", "blueshift-fake-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return t.TempDir()
}

// Dir is a temporary directory of the fake host, for the app's path and
// the proxy's files.
func (f *Fake) Dir() string { return f.dir }

// Name returns "fake".
func (f *Fake) Name() string { return "fake" }

// Close stops the fake's servers; later calls fail with host.ErrClosed.
func (f *Fake) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	servers := f.servers
	f.servers = nil
	colourSrv := f.colourSrv
	f.mu.Unlock()
	for _, s := range servers {
		s.Close()
	}
	if colourSrv != nil {
		colourSrv.Close()
	}
	f.shimSrv.close()
	return f.local.Close()
}

// Run answers docker, compose and nginx commands from the model and runs
// everything else on this machine, with the model's shims first in PATH.
func (f *Fake) Run(ctx context.Context, cmd host.Cmd) error {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return host.ErrClosed
	}
	if len(cmd.Argv) == 0 {
		return errors.New("host: run: empty argv")
	}
	if f.Model.Handles(cmd.Argv[0]) {
		stdout, stderr := orDiscard(cmd.Stdout), orDiscard(cmd.Stderr)
		var tail strings.Builder
		code := f.Model.Exec(ctx, cmd.Argv, cmd.Stdin, stdout, io.MultiWriter(stderr, &tail))
		if code != 0 {
			return &host.ExitError{Host: f.Name(), Argv: cmd.Argv, Code: code, StderrTail: strings.TrimSpace(tail.String())}
		}
		return ctx.Err()
	}
	if !cmd.ClearEnv {
		// A command given Env alone gets no shims: it gets nothing else.
		// The caller's Env comes last: a PATH of its own wins, as on a host.
		cmd.Env = append([]string{"PATH=" + f.shimDir + ":" + os.Getenv("PATH"), shimEnv + "=" + f.shimSrv.addr}, cmd.Env...)
	}
	err := f.local.Run(ctx, cmd)
	var exit *host.ExitError
	if errors.As(err, &exit) {
		exit.Host = f.Name()
	}
	return err
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// DialContext connects a loopback port published by a running container of
// the model to the model's App handler for that container; a published
// port whose container is not running refuses the connection, as a real
// one does. Anything else is dialled on this machine.
func (f *Fake) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, host.ErrClosed
	}
	if listen, _ := f.Model.colourServer(); listen != "" && addr == listen && (network == "tcp" || network == "tcp4") {
		srv, err := f.colourServer()
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}
	if network == "tcp" || network == "tcp4" {
		if hostPart, portText, err := net.SplitHostPort(addr); err == nil && (hostPart == "127.0.0.1" || hostPart == "localhost") {
			port, _ := strconv.Atoi(portText)
			if f.Model.publishes(port) {
				if _, ok := f.Model.containerOnPort(port); !ok {
					return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
				}
				srv, err := f.server(port)
				if err != nil {
					return nil, err
				}
				var d net.Dialer
				return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
			}
		}
	}
	return f.local.DialContext(ctx, network, addr)
}

// colourServer is the HTTP server standing for the colour server of the
// upstream file nginx loaded last: it answers the colour of that reload,
// as nginx's does.
func (f *Fake) colourServer() (*httptest.Server, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, host.ErrClosed
	}
	if f.colourSrv == nil {
		f.colourSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, colour := f.Model.colourServer()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\"colour\":%q}\n", colour)
		}))
	}
	return f.colourSrv, nil
}

// server is the HTTP server standing for published port, started on first use.
func (f *Fake) server(port int) (*httptest.Server, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, host.ErrClosed
	}
	if s, ok := f.servers[port]; ok {
		return s, nil
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := f.Model.containerOnPort(port)
		if !ok {
			// Stopped between the dial and the request.
			hj, ok := w.(http.Hijacker)
			if conn, _, err := hj.Hijack(); ok && err == nil {
				conn.Close()
			}
			return
		}
		f.Model.app().ServeHTTP(w, r.WithContext(withContainer(r.Context(), c)))
	}))
	f.servers[port] = s
	return s, nil
}

// Engine is a Docker Engine API client over the fake's model, for
// deploy.Options.Docker (it implements deploy/container.Engine).
func (f *Fake) Engine() *FakeEngine { return &FakeEngine{m: f.Model} }

var _ host.Host = (*Fake)(nil)

// String names the fake and its directory, for test logs.
func (f *Fake) String() string { return fmt.Sprintf("fake host in %s", f.dir) }
