package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// CaddyModule and CaddyVersion are what CaddyBinary installs when caddy is
// missing.
const (
	CaddyModule  = "github.com/caddyserver/caddy/v2/cmd/caddy"
	CaddyVersion = "v2.10.2"
)

// CaddyBinary returns the caddy the demo runs, $(go env GOPATH)/bin/caddy,
// installing it with `go install CaddyModule@CaddyVersion` first when it is
// missing (progress is told; it takes a minute or two).
func CaddyBinary(ctx context.Context, progress func(string)) (string, error) {
	bin, err := caddyPath(ctx)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if progress != nil {
		progress(fmt.Sprintf("caddy not found at %s: building it (go install %s@%s), once", bin, CaddyModule, CaddyVersion))
	}
	cmd := exec.CommandContext(ctx, "go", "install", CaddyModule+"@"+CaddyVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", CaddyModule, CaddyVersion, err, tailText(string(out), 20))
	}
	return bin, nil
}

// caddyPath is $(go env GOPATH)/bin/caddy.
func caddyPath(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("find GOPATH (go env GOPATH): %w", err)
	}
	gopath := strings.TrimSpace(strings.Split(string(out), string(os.PathListSeparator))[0])
	return filepath.Join(gopath, "bin", "caddy"), nil
}

// ProxyStatus says what StartProxy found or did.
type ProxyStatus struct {
	// AlreadyRunning is set when the workspace's Caddy was running already.
	AlreadyRunning bool
	// PID is Caddy's process ID.
	PID int
	// Colour is the colour Caddy was started pointing at ("" when it was
	// running already).
	Colour string
}

// StartProxy starts Caddy in front of the demo's colours, unless the
// workspace's Caddy is running already. Caddy routes each request by which
// colour's file exists in <dir>/caddy-colours/<route>/, so blueshift
// switches it without changing its configuration (nothing reloads, nothing
// is dropped). Caddy listens on a socket it inherits as fd 3 (StartProxy
// binds ws.ProxyAddr and passes it on). Caddy runs detached from this
// process (its own session; log in <dir>/caddy.log, pid in
// <dir>/caddy.pid) and keeps serving after the demo returns; Down stops it.
// It points at the colour the files name, else the live colour from the
// workspace's state, or blue before the first deployment.
func StartProxy(ctx context.Context, ws *Workspace) (ProxyStatus, error) {
	if pid, ok := ws.caddyRunning(ctx); ok {
		ws.progress("caddy is already running (pid %d, %s)", pid, ws.PublicURL())
		return ProxyStatus{AlreadyRunning: true, PID: pid}, nil
	}
	// A previous demo Caddy still exiting holds its sockets a little
	// longer: wait for it rather than fail to bind.
	if pid, ok := ws.pidFile(); ok && procStateOf(pid) == procExiting {
		ws.progress("waiting for the previous caddy (pid %d) to exit", pid)
		if err := ws.awaitProxyGone(ctx, pid); err != nil {
			return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
		}
	}
	bin := ws.Caddy
	if bin == "" {
		b, err := CaddyBinary(ctx, ws.Progress)
		if err != nil {
			return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
		}
		bin = b
	}
	colour, err := ws.initColourFile(ctx)
	if err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
	}
	cfg, err := traffic.CaddyInitialConfig(traffic.CaddySite{
		App:    ws.App,
		Listen: []string{"fd/3"},
		Route:  ws.route(),
		Dir:    ws.caddyDir(),
		Admin:  ws.AdminAddr,
	})
	if err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(ws.Dir, caddyData), 0o700); err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
	}
	file := filepath.Join(ws.Dir, caddyConfig)
	if err := os.WriteFile(file, cfg, 0o644); err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
	}
	if !portFree(ws.AdminAddr) {
		return ProxyStatus{}, fmt.Errorf("demo proxy: admin address %s is in use by another program: stop it, or run `go tool mage demo:down` if it is an earlier demo", ws.AdminAddr)
	}
	l, err := net.Listen("tcp", ws.ProxyAddr)
	if err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: listen on %s (in use by another program? stop it, or run `go tool mage demo:down` if it is an earlier demo): %w", ws.ProxyAddr, err)
	}
	lf, err := l.(*net.TCPListener).File()
	l.Close()
	if err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
	}
	defer lf.Close()
	logPath := filepath.Join(ws.Dir, caddyLog)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
	}
	defer logf.Close()

	// Not CommandContext: Caddy outlives ctx and this process.
	cmd := exec.Command(bin, "run", "--config", file)
	cmd.Dir = ws.Dir
	data := filepath.Join(ws.Dir, caddyData)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+data, "XDG_DATA_HOME="+data)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{lf} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return ProxyStatus{}, fmt.Errorf("demo proxy: start %s: %w", bin, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reap it if it stops while this process lives
	if err := os.WriteFile(filepath.Join(ws.Dir, caddyPID), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return ProxyStatus{}, fmt.Errorf("demo proxy: %w", err)
	}
	ws.progress("caddy started (pid %d): %s -> %s, admin %s, log %s", pid, ws.PublicURL(), colour, ws.AdminAddr, logPath)

	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		if adminAnswers(ctx, ws.AdminAddr) {
			return ProxyStatus{PID: pid, Colour: colour}, nil
		}
		select {
		case <-exited:
			return ProxyStatus{}, fmt.Errorf("demo proxy: caddy exited at once; its log %s ends:\n%s", logPath, tailFile(logPath, 15))
		case <-deadline.C:
			_ = cmd.Process.Kill()
			return ProxyStatus{}, fmt.Errorf("demo proxy: caddy's admin API %s did not answer within 20s; its log %s ends:\n%s", ws.AdminAddr, logPath, tailFile(logPath, 15))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ProxyStatus{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// route is the Caddy route the demo's deploy.yml switches.
func (w *Workspace) route() traffic.Route {
	return traffic.Route{Name: routeID(w.App), Upstreams: traffic.Upstreams{
		string(version.Blue):  {fmt.Sprintf("127.0.0.1:%d", w.BluePort)},
		string(version.Green): {fmt.Sprintf("127.0.0.1:%d", w.GreenPort)},
	}}
}

// caddyRunning returns the pid of the workspace's Caddy when its pid file
// names a live caddy process and the admin API answers.
func (w *Workspace) caddyRunning(ctx context.Context) (int, bool) {
	pid, ok := w.caddyPID()
	return pid, ok && adminAnswers(ctx, w.AdminAddr)
}

// caddyPID returns the pid in the workspace's pid file when that process
// is alive and is a caddy.
func (w *Workspace) caddyPID() (int, bool) {
	pid, ok := w.pidFile()
	return pid, ok && isCaddy(pid)
}

// pidFile returns the pid in the workspace's pid file, if there is one.
func (w *Workspace) pidFile() (int, bool) {
	b, err := os.ReadFile(filepath.Join(w.Dir, caddyPID))
	if err != nil {
		return 0, false
	}
	pid, err := atoi(b)
	if err != nil || pid <= 1 {
		return 0, false
	}
	return pid, true
}

// isCaddy reports whether pid is a running caddy process.
func isCaddy(pid int) bool { return procStateOf(pid) == procCaddy }

// procState is what became of a process.
type procState int

const (
	// procGone: no such process, or a zombie whose threads have all
	// exited (its sockets are closed).
	procGone procState = iota
	// procExiting: exiting, but its sockets may still be open. The
	// kernel drops a process's command line before it closes its files,
	// and a thread group leader turns zombie while other threads still
	// exit.
	procExiting
	// procCaddy: a running caddy.
	procCaddy
	// procOther: a running process that is not caddy (the pid was reused).
	procOther
)

// procStateOf says what became of process pid, from /proc (without /proc,
// any live process counts as caddy: the pid file is trusted).
func procStateOf(pid int) procState {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return procGone
	}
	proc := fmt.Sprintf("/proc/%d", pid)
	stat, err := os.ReadFile(proc + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat("/proc/self"); err != nil {
			return procCaddy // no /proc (not Linux): trust the pid file
		}
		return procGone
	}
	if i := strings.LastIndexByte(string(stat), ')'); err == nil && i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
		if tasks, err := os.ReadDir(proc + "/task"); err == nil && len(tasks) > 1 {
			return procExiting
		}
		return procGone
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return procGone
	case err != nil:
		return procCaddy
	case len(cmdline) == 0:
		return procExiting
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	if filepath.Base(argv0) == "caddy" {
		return procCaddy
	}
	return procOther
}

// stopProxy stops the workspace's Caddy, if it runs, and removes its pid
// file. It returns once the process has exited and its addresses are free,
// so that a Caddy started next can bind them. It reports whether a process
// was stopped.
func (w *Workspace) stopProxy(ctx context.Context) (bool, error) {
	pidFile := filepath.Join(w.Dir, caddyPID)
	stopped := false
	if pid, ok := w.pidFile(); ok {
		st := procStateOf(pid)
		if st == procCaddy {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			stopped = true
		}
		if st == procCaddy || st == procExiting {
			if err := w.awaitProxyGone(ctx, pid); err != nil {
				return stopped, err
			}
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return stopped, err
	}
	return stopped, nil
}

// Stopping Caddy: how long it has to exit after SIGTERM before it is
// killed, to exit after SIGKILL, and then for its addresses to be free.
const (
	caddyStopTimeout = 10 * time.Second
	caddyKillTimeout = 5 * time.Second
	caddyFreeTimeout = 5 * time.Second
)

// awaitProxyGone waits until the stopping Caddy pid has exited (killing it
// after caddyStopTimeout), then until the proxy and admin addresses can be
// bound (up to caddyFreeTimeout: a port some other program holds is
// StartProxy's to report).
func (w *Workspace) awaitProxyGone(ctx context.Context, pid int) error {
	sleep := func() error {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for caddy (pid %d) to exit: %w", pid, ctx.Err())
		case <-time.After(20 * time.Millisecond):
			return nil
		}
	}
	start, killed := time.Now(), false
	for procStateOf(pid) != procGone {
		switch waited := time.Since(start); {
		case !killed && waited > caddyStopTimeout:
			w.Logger.Warn("caddy did not exit after SIGTERM: killing it", "pid", pid, "waited", waited)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = true
		case killed && waited > caddyStopTimeout+caddyKillTimeout:
			return fmt.Errorf("caddy (pid %d) has not exited %s after SIGKILL: check it with `ps -p %d`", pid, caddyKillTimeout, pid)
		}
		if err := sleep(); err != nil {
			return err
		}
	}
	for deadline := time.Now().Add(caddyFreeTimeout); time.Now().Before(deadline); {
		if portFree(w.ProxyAddr) && portFree(w.AdminAddr) {
			return nil
		}
		if err := sleep(); err != nil {
			return err
		}
	}
	return nil
}

// adminAnswers reports whether a Caddy admin API answers at addr.
func adminAnswers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/config/", nil)
	if err != nil {
		return false
	}
	resp, err := noProxyClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// noProxyClient ignores $HTTP_PROXY: everything the demo asks is on
// 127.0.0.1.
var noProxyClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// AppVersion is the demo app's answer to GET /api/version.
type AppVersion struct {
	Version string `json:"version"`
	Colour  string `json:"colour"`
}

// Version asks the demo app at base (the public URL or a colour's port)
// which version and colour answer.
func Version(ctx context.Context, base string) (AppVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var v AppVersion
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/version", nil)
	if err != nil {
		return v, err
	}
	resp, err := noProxyClient.Do(req)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("GET %s: status %d", req.URL, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	return v, nil
}

func tailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return tailText(string(b), lines)
}

func tailText(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// caddyDir is the directory of the colour files the demo's Caddy checks on
// every request (traffic.CaddyConfig.Dir).
func (w *Workspace) caddyDir() string { return filepath.Join(w.Dir, caddyColours) }

// initColourFile makes sure a colour's file exists for the demo's route
// and returns the colour Caddy will serve: the colour files left by earlier
// switches when there are any (they are what Caddy follows), else the live
// colour from the workspace's state, or blue before the first deployment.
func (w *Workspace) initColourFile(ctx context.Context) (string, error) {
	dir := traffic.CaddyColourDir(w.caddyDir(), w.route().Name)
	for _, c := range []version.Colour{version.Blue, version.Green} {
		if _, err := os.Stat(filepath.Join(dir, string(c))); err == nil {
			return string(c), nil
		}
	}
	colour := string(version.Blue)
	if st, err := state.New(host.NewLocal(), w.AppDir).Load(ctx); err == nil && version.Colour(st.Live).Valid() {
		colour = st.Live
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return colour, os.WriteFile(filepath.Join(dir, colour), []byte(colour+"\n"), 0o644)
}
