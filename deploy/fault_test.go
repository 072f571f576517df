package deploy_test

// The fault suite breaks real deployments the ways production breaks them:
// the tool killed with SIGKILL at every phase boundary of a deployment and
// of a rollback, SIGTERM in the middle of the health wait, the SSH
// connection cut, the Docker daemon refusing every call, the disk filling
// up during the backup, nginx's configuration broken, and the notification
// services down. Every case runs on the real Docker Engine behind a real
// nginx with load going through it, and checks that users saw no failed
// request and that the host is left (or, by the next run, put back) in one
// consistent state.
//
// A deployment that must die runs in a child process: the test binary
// re-executed with -test.run=^TestFaultChild$ and a childSpec in its
// environment. The child kills itself from its Observe callback, so the
// production code needs no hook.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// faultRate is the load (requests per second through nginx) every fault
// case runs under.
const faultRate = 100

// faultVersions are the two releases the suite alternates between.
var faultVersions = []string{"v1.0.0", "v1.0.1"}

// otherVersion is the release of faultVersions that is not v.
func otherVersion(v string) string {
	if v == faultVersions[0] {
		return faultVersions[1]
	}
	return faultVersions[0]
}

// faultApp is the end-to-end demo app with the fault suite's compose file
// (which passes START_DELAY), fast health and monitor settings, and its own
// engine environment and options.
type faultApp struct {
	*e2eApp
	env  map[string]string // the engine's environment (Options.Getenv)
	opts deploy.Options    // Getenv is set from env
}

func newFaultApp(t *testing.T) *faultApp {
	t.Helper()
	a := newE2E(t, faultVersions...)
	tmpl, err := os.ReadFile(filepath.Join("testdata", "fault", "docker-compose.yml"))
	require.NoError(t, err)
	compose := strings.ReplaceAll(string(tmpl), "IMAGE", a.repo)
	require.NoError(t, os.WriteFile(filepath.Join(a.dir, "docker-compose.yml"), []byte(compose), 0o644))
	f := &faultApp{e2eApp: a, env: map[string]string{"USER": "fault"}}
	f.editEnv(t, func(env map[string]any) {
		// Ports checked free, below the ephemeral range the load's and SSH's
		// client connections take theirs from.
		env["ports"] = map[string]any{"web": map[string]any{"container": 8000, "blue": listenablePort(t), "green": listenablePort(t)}}
		env["health"] = map[string]any{"backend": map[string]any{"url": "/api/health/", "service": "web",
			"attempts": 150, "interval": "100ms", "timeout": "30s", "attempt_timeout": "2s"}}
		env["monitor"] = map[string]any{"window": "500ms", "interval": "100ms", "max_errors": 2}
		env["timeouts"] = map[string]any{"drain": "100ms", "notify": "2s"}
	})
	return f
}

// listenablePort is a loopback port in [20000, 32000) nothing listens on.
func listenablePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + mrand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port in [20000, 32000)")
	return 0
}

// editEnv changes environments.production of deploy.yml.
func (f *faultApp) editEnv(t *testing.T, edit func(env map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(f.cfgFile)
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	edit(cfg["environments"].(map[string]any)["production"].(map[string]any))
	data, err = yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(f.cfgFile, data, 0o644))
}

func (f *faultApp) getenv(k string) string { return f.env[k] }

// engine opens a fresh engine, as a new run of the tool would.
func (f *faultApp) engine(t *testing.T) *deploy.Engine {
	t.Helper()
	o := f.opts
	o.Getenv = f.getenv
	eng, err := deploy.NewFromFile(context.Background(), f.cfgFile, "production", o)
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	return eng
}

// run deploys v (empty: rolls back to the previous release) in this
// process; observe, when set, sees every event.
func (f *faultApp) run(t *testing.T, v string, observe func(deploy.Event)) (*deploy.Deployment, error) {
	t.Helper()
	eng := f.engine(t)
	p, d := eng.RollbackPipeline(""), eng.NewRollback()
	if v != "" {
		p, d = eng.Pipeline(), eng.NewDeployment(version.MustParse(v))
	}
	d.Observe = func(e deploy.Event) {
		if observe != nil {
			observe(e)
		}
		if e.Err != nil && (e.Kind == deploy.EventPhaseFinished || e.Kind == deploy.EventUndoFinished) {
			t.Logf("%s %s: %v", e.Kind, e.Phase, e.Err)
		}
	}
	err := p.Run(context.Background(), d)
	return d, err
}

// deployOK deploys v and requires it to succeed and serve.
func (f *faultApp) deployOK(t *testing.T, v string) {
	t.Helper()
	d, err := f.run(t, v, nil)
	require.NoError(t, err, "a new deployment of %s must succeed", v)
	require.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
	code, colour, body := f.serving()
	assert.Equal(t, 200, code)
	assert.Equal(t, string(d.Next), colour)
	assert.Contains(t, body, v)
}

func (f *faultApp) history(t *testing.T) []state.Entry {
	t.Helper()
	h, err := state.New(host.NewLocal(), f.appPath).History(context.Background(), 0)
	require.NoError(t, err)
	return h
}

func (f *faultApp) lock(t *testing.T) *state.Lock {
	t.Helper()
	l, err := state.New(host.NewLocal(), f.appPath).ReadLock(context.Background())
	require.NoError(t, err)
	return l
}

// currentVersion is the release state records as current.
func (f *faultApp) currentVersion(t *testing.T) string {
	t.Helper()
	st := f.state()
	require.NotNil(t, st.Current, "state records no current release")
	return st.Current.Version
}

// requireOneLive checks the host holds exactly one live colour, that it
// serves, and that nothing is held or in flight: the proxy's view equals
// state's, that colour runs, the other does not, the public URL answers from
// it, the lock is free.
func (f *faultApp) requireOneLive(t *testing.T) version.Colour {
	t.Helper()
	eng := f.engine(t)
	proxy, err := eng.Switcher.Live(context.Background())
	require.NoError(t, err)
	st := f.state()
	live, err := version.ParseColour(proxy)
	require.NoError(t, err)
	assert.Equal(t, proxy, st.Live, "the proxy's live colour is state's")
	assert.Nil(t, st.InFlight, "nothing in flight")
	assert.Nil(t, f.lock(t), "the lock is free")
	assert.Greater(t, f.running(string(live)), 0, "the live colour %s runs", live)
	assert.Zero(t, f.running(string(live.Other())), "the other colour %s does not run", live.Other())
	code, colour, _ := f.serving()
	assert.Equal(t, 200, code)
	assert.Equal(t, string(live), colour, "the public URL answers from the live colour")
	return live
}

// ---- the child process ----------------------------------------------------

const faultChildEnv = "BLUESHIFT_FAULT_CHILD"

// childSpec tells TestFaultChild what to run and how it breaks.
type childSpec struct {
	Config  string `json:"config"`
	Version string `json:"version,omitempty"` // empty: roll back to the previous release
	// KillAt: SIGKILL itself when this phase starts.
	KillAt string `json:"kill_at,omitempty"`
	// KillAfterSwitch: SIGKILL itself right after the proxy switched,
	// before the deployment writes anything about it.
	KillAfterSwitch bool `json:"kill_after_switch,omitempty"`
	// PauseAt: when this phase starts, print "PAUSED <phase>" and wait for
	// a line on stdin.
	PauseAt string            `json:"pause_at,omitempty"`
	Env     map[string]string `json:"env"`
}

// childResult is the child's last line: "RESULT <json>".
type childResult struct {
	Err            string `json:"err"`
	Phase          string `json:"phase"`
	Outcome        string `json:"outcome"`
	ConnectionLost bool   `json:"connection_lost"`
	Interrupted    bool   `json:"interrupted"`
}

// killAfterSwitch is the child's switcher when it must die mid-switch.
type killAfterSwitch struct{ traffic.Switcher }

func (k killAfterSwitch) Switch(ctx context.Context, colour string) error {
	err := k.Switcher.Switch(ctx, colour)
	fmt.Printf("SWITCHED %s %v\n", colour, err)
	killSelf()
	return err
}

func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // never return: SIGKILL is on its way
}

// TestFaultChild is the deployment a fault test runs in a child process;
// run on its own it does nothing.
func TestFaultChild(t *testing.T) {
	raw := os.Getenv(faultChildEnv)
	if raw == "" {
		return // not a child of a fault test
	}
	var spec childSpec
	require.NoError(t, json.Unmarshal([]byte(raw), &spec))
	// Like the mage targets: SIGTERM and Ctrl-C cancel the deployment.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	eng, err := deploy.NewFromFile(ctx, spec.Config, "production", deploy.Options{Getenv: func(k string) string { return spec.Env[k] }})
	if err != nil {
		fmt.Printf("RESULT %s\n", mustJSON(childResult{Err: "open: " + err.Error(), ConnectionLost: errors.Is(err, host.ErrConnectionLost)}))
		os.Exit(2)
	}
	if spec.KillAfterSwitch {
		eng.Switcher = killAfterSwitch{eng.Switcher}
	}
	p, d := eng.RollbackPipeline(""), eng.NewRollback()
	if spec.Version != "" {
		p, d = eng.Pipeline(), eng.NewDeployment(version.MustParse(spec.Version))
	}
	stdin := bufio.NewReader(os.Stdin)
	d.Observe = func(e deploy.Event) {
		if e.Kind == deploy.EventProgress {
			return
		}
		fmt.Printf("EVENT %s %s %q\n", e.Kind, e.Phase, errText(e.Err))
		if e.Kind != deploy.EventPhaseStarted {
			return
		}
		if e.Phase == spec.KillAt {
			killSelf()
		}
		if e.Phase == spec.PauseAt {
			fmt.Printf("PAUSED %s\n", e.Phase)
			_, _ = stdin.ReadString('\n')
		}
	}
	err = p.Run(ctx, d)
	res := childResult{Err: errText(err), Outcome: string(d.Outcome),
		ConnectionLost: errors.Is(err, host.ErrConnectionLost), Interrupted: errors.Is(err, deploy.ErrInterrupted)}
	if d.Failure != nil {
		res.Phase = d.Failure.Phase
	}
	fmt.Printf("RESULT %s\n", mustJSON(res))
	eng.Close()
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// child is a running TestFaultChild.
type child struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	mu    sync.Mutex
	out   []string // every stdout and stderr line
	done  chan struct{}
}

// startChild runs spec in a child process; its output is logged when the
// test fails.
func (f *faultApp) startChild(t *testing.T, spec childSpec) *child {
	t.Helper()
	spec.Config = f.cfgFile
	if spec.Env == nil {
		spec.Env = f.env
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), faultChildEnv+"="+string(mustJSON(spec)))
	c := &child{t: t, cmd: cmd, lines: make(chan string, 1000), done: make(chan struct{})}
	var err error
	c.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var wg sync.WaitGroup
	wg.Add(2)
	go c.read(stdout, true, &wg)
	go c.read(stderr, false, &wg)
	go func() {
		wg.Wait()
		_ = cmd.Wait()
		close(c.lines)
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("child output:\n%s", c.output())
		}
	})
	return c
}

func (c *child) read(r io.Reader, stdout bool, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		c.mu.Lock()
		c.out = append(c.out, line)
		c.mu.Unlock()
		if stdout {
			c.lines <- line
		}
	}
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.out, "\n")
}

// waitLine waits for a stdout line starting with prefix.
func (c *child) waitLine(prefix string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("child exited before printing %q:\n%s", prefix, c.output())
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			c.t.Fatalf("child did not print %q within %s:\n%s", prefix, timeout, c.output())
		}
	}
}

// resume lets a child paused at a phase go on.
func (c *child) resume() {
	_, err := io.WriteString(c.stdin, "go\n")
	require.NoError(c.t, err)
}

// wait waits for the child to exit and returns how it ended and its
// result line (nil when it printed none, as when killed).
func (c *child) wait(timeout time.Duration) (syscall.WaitStatus, *childResult) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		c.t.Fatalf("child still running after %s:\n%s", timeout, c.output())
	}
	ws := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range c.out {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			var res childResult
			require.NoError(c.t, json.Unmarshal([]byte(rest), &res))
			return ws, &res
		}
	}
	return ws, nil
}

// requireKilled waits for a child that must have killed itself.
func (c *child) requireKilled(what string) {
	c.t.Helper()
	ws, res := c.wait(2 * time.Minute)
	require.True(c.t, ws.Signaled() && ws.Signal() == syscall.SIGKILL,
		"the child was not killed %s (exit %v, result %+v):\n%s", what, ws, res, c.output())
}

// ---- 1 and 3: SIGKILL at every phase boundary --------------------------------

// killAndRecover kills a child deployment (or rollback) as spec says, under
// load, then checks that status only reports what was left behind, that a
// fresh engine's Reconcile (what `reconcile` and every mutating target do,
// under the lock) puts it back (when the kill left anything behind) to
// exactly one live, serving colour with the lock free and the evidence in
// history, and that a new deployment succeeds.
func (f *faultApp) killAndRecover(t *testing.T, spec childSpec, what string, leftBehind bool) {
	histBefore := len(f.history(t))
	var st *deploy.Status
	var rec *deploy.Reconciliation
	var after state.State
	var hist []state.Entry
	var lockAfter *state.Lock
	var statusErr, recErr error
	s := f.underLoad(faultRate, func() {
		f.startChild(t, spec).requireKilled(what)
		f.waitHolderGone(t)
		// Users are still served by the colour that was live, or by the
		// new one if the switch happened.
		code, _, _ := f.serving()
		assert.Equal(t, 200, code, "the app serves right after the kill")
		st, statusErr = f.engine(t).Status(context.Background(), 10)
		if statusErr != nil {
			return
		}
		rec, recErr = f.engine(t).Reconcile(context.Background())
		if recErr == nil {
			after, hist, lockAfter = f.state(), f.history(t)[histBefore:], f.lock(t)
			f.requireOneLive(t)
			f.deployOK(t, otherVersion(f.currentVersion(t)))
		}
	})
	require.NoError(t, statusErr, "status after the kill")
	require.NoError(t, recErr, "reconcile after the kill")
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	if !leftBehind {
		assert.Empty(t, st.NeedsReconcile, "nothing was left behind")
		assert.Nil(t, rec, "nothing was left behind, nothing to reconcile")
		return
	}
	assert.NotEmpty(t, st.NeedsReconcile, "status reports the interrupted run")
	require.NotNil(t, rec, "reconcile repairs the interrupted run")
	t.Logf("reconciled: %v", rec.Actions)
	assert.Nil(t, lockAfter, "the lock is free afterwards")
	assert.Nil(t, after.InFlight)
	assert.Equal(t, string(rec.Live), after.Live)
	i := slices.IndexFunc(hist, func(e state.Entry) bool { return e.Kind == state.KindReconcile })
	require.GreaterOrEqual(t, i, 0, "a reconcile entry in history: %+v", hist)
	ent := hist[i]
	assert.Equal(t, state.OutcomeInterrupted, ent.Outcome)
	assert.Contains(t, ent.Error, "interrupted", "the evidence says what was interrupted")
	assert.Equal(t, after.Live, ent.Colour, "the entry names the colour left live")
	if in := rec.Interrupted; in != nil {
		assert.Equal(t, in.Version, ent.Version)
		assert.Contains(t, ent.Error, in.Holder, "the evidence names who ran it")
	} else {
		assert.Contains(t, ent.Error, rec.Holder.Holder, "the evidence names the lock's holder")
	}
}

// TestFaultKilledAtEveryPhase kills a deployment with SIGKILL as each phase
// starts, and once in the middle of the switch (the proxy switched, nothing
// recorded yet), then checks that the next run reconciles and the host
// stays usable. One app serves every case; each case ends with a new
// deployment, so the cases alternate between two versions.
func TestFaultKilledAtEveryPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, faultVersions[0])
	t.Run("deploy killed at backup before green was ever rendered", func(t *testing.T) {
		f.killAndRecover(t, childSpec{Version: faultVersions[1], KillAt: deploy.PhaseBackup}, "at backup", true)
	})
	for _, phase := range f.engine(t).Pipeline().Names() {
		t.Run("deploy killed at "+phase, func(t *testing.T) {
			v := otherVersion(f.currentVersion(t))
			f.killAndRecover(t, childSpec{Version: v, KillAt: phase}, "at "+phase, phase != deploy.PhaseLock)
		})
	}
	t.Run("kill -9 during switch (proxy switched, nothing recorded): next run reconciles", func(t *testing.T) {
		cur := f.currentVersion(t)
		live, err := version.ParseColour(f.state().Live)
		require.NoError(t, err)
		histBefore := len(f.history(t))
		f.killAndRecover(t, childSpec{Version: otherVersion(cur), KillAfterSwitch: true}, "after the switch", true)
		// The switch happened: reconcile kept the new version live and
		// recorded it (then the test's new deployment went back to cur).
		h := f.history(t)[histBefore:]
		i := slices.IndexFunc(h, func(e state.Entry) bool { return e.Kind == state.KindReconcile })
		require.GreaterOrEqual(t, i, 0)
		assert.Equal(t, otherVersion(cur), h[i].Version)
		assert.Equal(t, string(live.Other()), h[i].Colour, "the switched-to colour stayed live")
	})
}

// TestFaultRollbackKilledAtEveryPhase kills a manual rollback with SIGKILL
// as each of its phases starts; the next run reconciles and a new
// deployment succeeds.
func TestFaultRollbackKilledAtEveryPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, faultVersions[0])
	f.deployOK(t, faultVersions[1]) // a previous release to roll back to
	for _, phase := range f.engine(t).RollbackPipeline("").Names() {
		t.Run("rollback killed at "+phase, func(t *testing.T) {
			f.killAndRecover(t, childSpec{KillAt: phase}, "at "+phase, phase != deploy.PhaseLock)
		})
	}
}

// ---- 2: SIGTERM during health --------------------------------------------------

// TestFaultSIGTERMDuringHealthRollsBackCleanly stops a deployment with
// SIGTERM while it waits for a slow next colour: the child's context is
// cancelled, the next colour is removed, the outcome recorded, the lock
// released, and the child exits non-zero.
func TestFaultSIGTERMDuringHealthRollsBackCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")
	f.setEnv("START_DELAY=20s") // green will take 20 s to listen
	var ws syscall.WaitStatus
	var res *childResult
	var took time.Duration
	s := f.underLoad(faultRate, func() {
		c := f.startChild(t, childSpec{Version: "v1.0.1"})
		c.waitLine("EVENT phase-started health", 2*time.Minute)
		require.Eventually(t, func() bool {
			in := f.state().InFlight
			return in != nil && in.Phase == deploy.PhaseHealth
		}, 30*time.Second, 50*time.Millisecond, "state says the run is in health")
		time.Sleep(300 * time.Millisecond) // well inside the health wait
		sent := time.Now()
		require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
		ws, res = c.wait(time.Minute)
		took = time.Since(sent)
	})
	t.Logf("SIGTERM to exit: %s", took.Round(time.Millisecond))
	assert.True(t, ws.Exited() && ws.ExitStatus() != 0, "the child exits non-zero by itself (got %v)", ws)
	require.NotNil(t, res, "the child printed its result")
	assert.True(t, res.Interrupted, "the error wraps deploy.ErrInterrupted: %s", res.Err)
	assert.Equal(t, deploy.PhaseHealth, res.Phase)
	assert.Equal(t, string(deploy.OutcomeRolledBack), res.Outcome)
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Zero(t, f.existing("green"), "the next colour is removed")
	assert.Equal(t, version.Blue, f.requireOneLive(t))
	_, _, body := f.serving()
	assert.Contains(t, body, "v1.0.0")
	h := f.history(t)
	last := h[len(h)-1]
	assert.Equal(t, state.KindDeploy, last.Kind)
	assert.Equal(t, state.OutcomeRolledBack, last.Outcome)
	assert.Equal(t, deploy.PhaseHealth, last.Phase)
	assert.Equal(t, "v1.0.1", last.Version)
	f.setEnv()
}

// ---- 4: the SSH connection dropped, Docker refusing, disk full, nginx broken, notifiers down

// TestFaultSSHConnectionDropped deploys over SSH through a TCP proxy and
// cuts it as a phase starts: the deployment fails saying the connection was
// lost, the app keeps serving, and the next run over a good connection
// reconciles.
func TestFaultSSHConnectionDropped(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	sshd := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	f := newFaultApp(t)
	f.env["PRODUCTION_SSH_KEY"] = string(sshd.ClientKeyPEM)
	pinned := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshd.HostKeys[ssh.KeyAlgoED25519])))
	via := func(addr string) {
		f.editEnv(t, func(env map[string]any) {
			env["host"] = map[string]any{"address": addr, "user": sshd.User, "host_key": pinned, "keepalive": "1s"}
		})
	}
	via(sshd.Addr)
	f.deployOK(t, "v1.0.0")
	for _, phase := range []string{deploy.PhaseStart, deploy.PhaseHealth} {
		t.Run("connection cut when "+phase+" starts", func(t *testing.T) {
			proxy := hosttest.StartTCPProxy(t, sshd.Addr)
			via(proxy.Addr)
			cur := f.currentVersion(t)
			live := f.state().Live
			var res *childResult
			s := f.underLoad(faultRate, func() {
				c := f.startChild(t, childSpec{Version: otherVersion(cur), PauseAt: phase})
				c.waitLine("PAUSED "+phase, 2*time.Minute)
				proxy.Cut()
				c.resume()
				var ws syscall.WaitStatus
				ws, res = c.wait(2 * time.Minute)
				assert.True(t, ws.Exited() && ws.ExitStatus() == 1, "the child fails (got %v)", ws)
				assert.NotContains(t, c.output(), "PRIVATE KEY", "the SSH key never shows in output")
			})
			require.NotNil(t, res)
			t.Logf("failed with: %s", res.Err)
			assert.True(t, res.ConnectionLost, "the error wraps host.ErrConnectionLost: %s", res.Err)
			assert.Contains(t, res.Err, "connection")
			assert.Equal(t, phase, res.Phase)
			assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
			code, colour, _ := f.serving()
			assert.Equal(t, 200, code)
			assert.Equal(t, live, colour, "the live colour still serves")

			via(sshd.Addr) // the network is back
			rec, err := f.engine(t).Reconcile(context.Background())
			require.NoError(t, err)
			require.NotNil(t, rec, "the next run reconciles the run that lost its connection")
			t.Logf("reconciled: %v", rec.Actions)
			assert.Equal(t, live, f.state().Live)
			f.requireOneLive(t)
			f.deployOK(t, otherVersion(cur))
		})
	}
}

// TestFaultDockerDaemonRefusesEveryCall points the engine at a Docker API
// socket answering 500 to everything: the deployment fails with the
// daemon's message and nothing on the host changes.
func TestFaultDockerDaemonRefusesEveryCall(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")

	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	var calls sync.Map
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Store(r.Method+" "+r.URL.Path, true)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"message":"injected fault: the daemon refuses every call"}`)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })

	before := f.state()
	histBefore := len(f.history(t))
	f.opts.DockerSocket = sock
	var d *deploy.Deployment
	s := f.underLoad(faultRate, func() { d, err = f.run(t, "v1.0.1", nil) })
	t.Logf("failed with: %v", err)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "injected fault: the daemon refuses every call", "the daemon's own message")
	n := 0
	calls.Range(func(k, _ any) bool { n++; return true })
	assert.Greater(t, n, 0, "the engine called the refusing daemon")
	assert.Equal(t, deploy.OutcomeFailed, d.Outcome, "failed before anything changed")
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Zero(t, f.existing("green"), "nothing was started")
	after := f.state()
	assert.Equal(t, before.Live, after.Live)
	assert.Equal(t, before.Current, after.Current)
	assert.Equal(t, before.Previous, after.Previous)
	assert.Equal(t, version.Blue, f.requireOneLive(t))
	hist := f.history(t)[histBefore:]
	require.Len(t, hist, 1, "one history entry: the failed deployment")
	assert.Equal(t, state.OutcomeFailed, hist[0].Outcome)

	f.opts.DockerSocket = ""
	f.deployOK(t, "v1.0.1")
}

// statfsFree is the free space of the filesystem holding dir.
func statfsFree(t *testing.T, dir string) int64 {
	t.Helper()
	var fs syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &fs))
	return int64(fs.Bavail) * int64(fs.Bsize)
}

// TestFaultDiskFullDuringBackup keeps the app's path on a small tmpfs and
// fills it as the backup starts: the backup phase fails naming the disk,
// nothing is started, the partial backup is removed (so the lock and the
// outcome can still be written), and the app keeps serving.
func TestFaultDiskFullDuringBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", f.appPath).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, out)
	}
	hosttest.Require(t, "tmpfs mount (root)", err)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", f.appPath).Run() })
	f.deployOK(t, "v1.0.0")

	// 4 MiB of incompressible media for the backup to copy, written
	// straight to blue (the test's nginx buffers large bodies where its
	// workers cannot write).
	media := make([]byte, 4<<20)
	_, _ = rand.Read(media)
	blue := f.engine(t).Routes()[0].Upstreams["blue"][0]
	req, err := http.NewRequest(http.MethodPut, "http://"+blue+"/media/big.bin", strings.NewReader(string(media)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "PUT media: %s", msg)

	filler := filepath.Join(f.appPath, "filler")
	fill := func(e deploy.Event) {
		if e.Kind == deploy.EventPhaseStarted && e.Phase == deploy.PhaseBackup {
			// Another process fills the disk between preflight and backup,
			// leaving room for state but not for the backup.
			free := statfsFree(t, f.appPath)
			require.NoError(t, os.WriteFile(filler, make([]byte, free-(1<<20)), 0o600))
			t.Logf("filled %s: %d KiB free", f.appPath, statfsFree(t, f.appPath)>>10)
		}
	}
	before := f.state()
	var d *deploy.Deployment
	s := f.underLoad(faultRate, func() { d, err = f.run(t, "v1.0.1", fill) })
	t.Logf("failed with: %v", err)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhaseBackup, pe.Phase)
	// The cause is in the message or, when stderr's last line only says
	// that the command gave up (tar's "Error is not recoverable"), in the
	// stderr lines the error keeps, which the summary shows.
	cause := err.Error()
	var exit *host.ExitError
	if errors.As(err, &exit) {
		cause += "\n" + exit.StderrTail
	}
	assert.Contains(t, cause, "No space left on device")
	assert.Contains(t, err.Error(), "backup into "+filepath.Join(f.appPath, "backups")+" on ", "the message names the disk")
	assert.Equal(t, deploy.OutcomeFailed, d.Outcome)
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Zero(t, f.existing("green"), "nothing was started")
	assert.Equal(t, before.Current, f.state().Current)
	assert.Equal(t, version.Blue, f.requireOneLive(t))
	entries, err := os.ReadDir(filepath.Join(f.appPath, "backups"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".tmp"), "partial backup %s left behind", e.Name())
	}
	h := f.history(t)
	assert.Equal(t, deploy.PhaseBackup, h[len(h)-1].Phase, "the failure is recorded")

	require.NoError(t, os.Remove(filler))
	f.deployOK(t, "v1.0.1")
}

// TestFaultNginxConfigInvalid breaks nginx's configuration (an include of
// a file that does not exist) before and during a deployment: preflight
// refuses, or the switch fails and restores the upstream file; either way
// traffic stays where it was.
func TestFaultNginxConfigInvalid(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")
	conf := filepath.Join(f.nginx.Dir, "nginx.conf")
	good, err := os.ReadFile(conf)
	require.NoError(t, err)
	const bad = "/nonexistent/blueshift-fault.conf"
	breakNginx := func() {
		broken := strings.Replace(string(good), "http {", "http {\n    include "+bad+";", 1)
		require.NoError(t, os.WriteFile(conf, []byte(broken), 0o644))
	}
	repair := func() { require.NoError(t, os.WriteFile(conf, good, 0o644)) }

	check := func(t *testing.T, phase string, observe func(deploy.Event)) {
		defer repair()
		var d *deploy.Deployment
		s := f.underLoad(faultRate, func() { d, err = f.run(t, "v1.0.1", observe) })
		t.Logf("failed with: %v", err)
		var pe *deploy.PhaseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, phase, pe.Phase)
		assert.ErrorIs(t, err, traffic.ErrConfigInvalid)
		assert.Contains(t, err.Error(), bad, "nginx's message names the broken include")
		assert.NotEqual(t, deploy.OutcomeSucceeded, d.Outcome)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		assert.Zero(t, f.existing("green"), "the next colour is removed")
		assert.Equal(t, version.Blue, f.requireOneLive(t), "traffic untouched")
	}
	t.Run("broken before the deployment: preflight refuses", func(t *testing.T) {
		breakNginx()
		check(t, deploy.PhasePreflight, nil)
	})
	t.Run("broken during the deployment: switch fails, upstream file restored", func(t *testing.T) {
		check(t, deploy.PhaseSwitch, func(e deploy.Event) {
			if e.Kind == deploy.EventPhaseStarted && e.Phase == deploy.PhaseSwitch {
				breakNginx()
			}
		})
	})
	f.deployOK(t, "v1.0.1")
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestFaultNotifiersDown points Telegram and GitHub at closed ports: the
// deployment still succeeds, and its report shows both failures without
// their tokens.
func TestFaultNotifiersDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")
	const tgToken, ghToken = "123456:telegram-fault-token", "ghp_githubfaulttoken"
	f.env["BLUESHIFT_TELEGRAM_API"] = fmt.Sprintf("http://127.0.0.1:%d", closedPort(t))
	f.editEnv(t, func(env map[string]any) {
		env["notify"] = map[string]any{
			"telegram": map[string]any{"token": tgToken, "public_chat": "-1001", "log_chat": "-1002"},
			"github":   map[string]any{"token": ghToken, "repo": "blueshift-deploy/fault", "api_url": fmt.Sprintf("http://127.0.0.1:%d/", closedPort(t))},
		}
	})
	var d *deploy.Deployment
	var err error
	start := time.Now()
	s := f.underLoad(faultRate, func() { d, err = f.run(t, "v1.0.1", nil) })
	t.Logf("deployment with both notifiers down took %s", time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "notifications never decide a deployment's outcome")
	assert.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Equal(t, version.Green, f.requireOneLive(t))

	facts := map[string]string{}
	for _, fact := range d.Report.Facts {
		facts[fact.Name] = fact.Value
	}
	report := fmt.Sprintf("%v %v", d.Report.Warnings, d.Report.Facts)
	t.Logf("warnings: %q", d.Report.Warnings)
	for _, n := range []string{"telegram", "github"} {
		assert.Contains(t, facts["notify "+n], "FAILED", "the summary shows %s failed", n)
		assert.True(t, slices.ContainsFunc(d.Report.Warnings, func(w string) bool {
			return strings.Contains(w, "notifier "+n+" failed")
		}), "a warning says %s failed", n)
	}
	assert.NotContains(t, report, tgToken, "the Telegram token is never shown")
	assert.NotContains(t, report, "telegram-fault-token")
	assert.NotContains(t, report, ghToken, "the GitHub token is never shown")
}
