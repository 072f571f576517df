package deploy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/traffic/load"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/examples/demoapp/demoimage"
	"github.com/blueshift-deploy/blueshift/health"
)

// e2eApp is the demo app deployed by blueshift on the local Docker Engine
// behind a real nginx.
type e2eApp struct {
	t       *testing.T
	app     string
	repo    string
	dir     string // holds deploy.yml and docker-compose.yml
	appPath string // the app's path "on the host"
	nginx   *hosttest.Nginx
	cfgFile string
	// onEvent, when set, sees every event of the next deployment.
	onEvent func(deploy.Event, *deploy.Deployment)
}

const composeFile = `services:
  web:
    image: %s:latest
    container_name: fixed-name-removed-by-render
    environment:
      MEDIA_DIR: /media
      FAIL_HEALTH: ${FAIL_HEALTH:-}
      FAIL_AFTER: ${FAIL_AFTER:-}
      FAIL_ENDPOINT: ${FAIL_ENDPOINT:-}
      FAIL_MIGRATE: ${FAIL_MIGRATE:-}
    ports: ["8000:8000"]
    volumes: [media:/media]
volumes:
  media: {}
`

const deployFile = `app: %[1]s
environments:
  production:
    host: {address: local}
    path: %[2]s
    public_url: %[3]s
    services: {stateless: [web]}
    ports:
      web: {container: 8000, blue: %[4]d, green: %[5]d}
    proxy:
      kind: nginx
      nginx:
        upstream_file: %[6]s
        command: [%[7]s]
    hooks:
      migrate: [/demoapp, migrate]
    health:
      backend: {url: /api/health/, service: web, attempts: 40, interval: 250ms, timeout: 30s, attempt_timeout: 2s}
    monitor: {window: 2s, interval: 250ms, max_errors: 2}
    backup:
      enabled: true
      media: {volume: media}
    timeouts: {drain: 500ms}
`

// freePort is a loopback port free right now (the kernel picks it).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func requireEngine(t *testing.T) *client.Client {
	t.Helper()
	cli := hosttest.Docker(t)
	err := exec.Command("docker", "compose", "version").Run()
	hosttest.Require(t, "Docker Compose v2 (docker compose)", err)
	return cli
}

func newE2E(t *testing.T, versions ...string) *e2eApp {
	cli := requireEngine(t)
	ctx := context.Background()
	a := &e2eApp{t: t, app: fmt.Sprintf("bse2e%d", rand.IntN(1e6)), dir: t.TempDir()}
	a.repo = "blueshift-e2e/" + a.app
	a.appPath = filepath.Join(a.dir, "srv")
	require.NoError(t, os.MkdirAll(a.appPath, 0o755))
	for _, v := range versions {
		_, err := demoimage.Build(ctx, cli, a.repo, v)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		for _, proj := range []string{a.app + "-blue", a.app + "-green", a.app} {
			_ = exec.Command("docker", "compose", "-p", proj, "down", "--volumes", "--remove-orphans", "-t", "1").Run()
		}
		_ = exec.Command("docker", "volume", "rm", "-f", a.app+"_media").Run()
		_ = exec.Command("docker", "network", "rm", a.app+"_net").Run()
		for _, v := range versions {
			_ = exec.Command("docker", "rmi", "-f", a.repo+":"+v).Run()
		}
	})
	require.NoError(t, os.WriteFile(filepath.Join(a.dir, "docker-compose.yml"), []byte(fmt.Sprintf(composeFile, a.repo)), 0o644))

	// The nginx config includes the upstream file blueshift writes; it starts
	// pointing at blue, where nothing runs yet.
	upstream := filepath.Join(a.dir, "nginx-upstream.conf")
	blue, green := freePort(t), freePort(t)
	a.cfgFile = filepath.Join(a.dir, "deploy.yml")
	write := func(public, command string) {
		body := fmt.Sprintf(deployFile, a.app, a.appPath, public, blue, green, upstream, command)
		require.NoError(t, os.WriteFile(a.cfgFile, []byte(body), 0o644))
	}
	write("http://127.0.0.1:1", hosttest.NginxBinary)
	eng := a.open()
	sw := eng.Switcher.(*traffic.Nginx)
	initial, err := sw.Render("blue")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(upstream, initial, 0o644))
	eng.Close()
	a.nginx = hosttest.StartNginx(t, upstream, eng.Routes()[0].Name)
	write(a.nginx.URL, strings.Join(a.nginx.Command, ", "))
	return a
}

func (a *e2eApp) open() *deploy.Engine {
	a.t.Helper()
	eng, err := deploy.NewFromFile(context.Background(), a.cfgFile, "production", deploy.Options{Getenv: func(k string) string {
		if k == "USER" {
			return "e2e"
		}
		return ""
	}})
	require.NoError(a.t, err)
	a.t.Cleanup(func() { eng.Close() })
	return eng
}

// setEnv writes the app's env file on the host: the next colour rendered
// picks it up (the live one keeps what it started with).
func (a *e2eApp) setEnv(lines ...string) {
	require.NoError(a.t, os.WriteFile(filepath.Join(a.appPath, ".env.production"), []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}

func (a *e2eApp) deploy(v string, edit func(*deploy.Pipeline)) (*deploy.Deployment, error) {
	eng := a.open()
	p := eng.Pipeline()
	if edit != nil {
		edit(p)
	}
	d := eng.NewDeployment(version.MustParse(v))
	d.Observe = func(e deploy.Event) {
		if a.onEvent != nil {
			a.onEvent(e, d)
		}
		if e.Kind == deploy.EventPhaseFinished || e.Kind == deploy.EventUndoFinished || e.Kind == deploy.EventWarning {
			a.t.Logf("%s %s %s %v %s", e.Kind, e.Phase, e.Duration.Round(time.Millisecond), e.Err, e.Message)
		}
	}
	err := p.Run(context.Background(), d)
	return d, err
}

// underLoad runs fn while requests go through nginx at rate per second.
func (a *e2eApp) underLoad(rate int, fn func()) load.Stats {
	return a.underLoadOn("/api/health/", rate, fn)
}

// underLoadOn is underLoad requesting path.
func (a *e2eApp) underLoadOn(path string, rate int, fn func()) load.Stats {
	g, err := load.Start(context.Background(), load.Options{URL: a.nginx.URL + path, Rate: rate})
	require.NoError(a.t, err)
	fn()
	s := g.Stop()
	a.t.Logf("load: %d sent, %d failed at %.0f/s, p50 %s p99 %s, by colour %v, errors %v",
		s.Sent, s.Failed, s.AchievedRate(), s.P50, s.P99, s.ByColour, s.Errors)
	return s
}

func (a *e2eApp) serving() (status int, colour, body string) {
	return hosttest.Get(a.t, a.nginx.URL+"/api/version", "X-Blueshift-Colour")
}

func (a *e2eApp) state() state.State {
	st, err := state.New(host.NewLocal(), a.appPath).Load(context.Background())
	require.NoError(a.t, err)
	return st
}

func (a *e2eApp) running(colour string) int {
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=com.docker.compose.project="+a.app+"-"+colour).Output()
	require.NoError(a.t, err)
	return len(strings.Fields(string(out)))
}

func (a *e2eApp) existing(colour string) int {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+a.app+"-"+colour).Output()
	require.NoError(a.t, err)
	return len(strings.Fields(string(out)))
}

// TestBlueGreenOnRealEngine deploys, fails and rolls back the demo app on the
// real Docker Engine behind a real nginx, with load running through the
// proxy the whole time.
func TestBlueGreenOnRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	a := newE2E(t, "v1.0.0", "v1.0.1", "v1.0.2", "v1.0.3")
	const rate = 200

	// First deployment: v1.0.0 on blue.
	d, err := a.deploy("v1.0.0", nil)
	require.NoError(t, err)
	assert.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
	_, colour, body := a.serving()
	assert.Equal(t, "blue", colour)
	assert.Contains(t, body, "v1.0.0")

	// A media file written through blue.
	req, _ := http.NewRequest(http.MethodPut, a.nginx.URL+"/media/hello.txt", strings.NewReader("written by blue"))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)

	t.Run("deploy v1.0.1 under load: zero failed requests", func(t *testing.T) {
		var d *deploy.Deployment
		s := a.underLoad(rate, func() {
			d, err = a.deploy("v1.0.1", nil)
		})
		require.NoError(t, err)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		assert.Greater(t, s.ByColour["green"], 0)
		_, colour, body := a.serving()
		assert.Equal(t, "green", colour)
		assert.Contains(t, body, "v1.0.1")
		code, _, media := hosttest.Get(t, a.nginx.URL+"/media/hello.txt", "")
		assert.Equal(t, 200, code)
		assert.Equal(t, "written by blue", media, "green reads the media blue wrote")
		assert.Equal(t, 0, a.running("blue"), "blue is stopped")
		assert.Greater(t, a.existing("blue"), 0, "blue's containers are kept for rollback")
		st := a.state()
		assert.Equal(t, "green", st.Live)
		assert.Equal(t, "v1.0.1", st.Current.Version)
		assert.Equal(t, "v1.0.0", st.Previous.Version)
		// The env file it started with is recorded by its hash (issue 15 item 9).
		envFile, err := os.ReadFile(filepath.Join(a.appPath, ".env.production"))
		sum := state.NoEnvFile
		if err == nil {
			h := sha256.Sum256(envFile)
			sum = hex.EncodeToString(h[:])
		}
		assert.Equal(t, sum, st.Current.EnvFileSHA256)
		assert.NotEmpty(t, d.BackupID)
		// The migration ran in green.
		out, err := exec.Command("docker", "compose", "-p", a.app+"-green", "exec", "-T", "web", "/demoapp", "migrate").CombinedOutput()
		assert.NoError(t, err, "%s", out)
	})

	t.Run("health failure: next colour removed, live untouched", func(t *testing.T) {
		a.setEnv("FAIL_HEALTH=1")
		defer a.setEnv()
		var d *deploy.Deployment
		s := a.underLoad(rate, func() { d, err = a.deploy("v1.0.2", nil) })
		var pe *deploy.PhaseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, deploy.PhaseHealth, pe.Phase)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		assert.Equal(t, 0, a.existing("blue"), "the failed colour is removed")
		_, colour, body := a.serving()
		assert.Equal(t, "green", colour)
		assert.Contains(t, body, "v1.0.1")
		h, err := state.New(host.NewLocal(), a.appPath).History(context.Background(), 1)
		require.NoError(t, err)
		require.Len(t, h, 1)
		assert.Equal(t, "v1.0.2", h[0].Version)
		assert.Equal(t, deploy.PhaseHealth, h[0].Phase)
		assert.Contains(t, h[0].Logs, "demoapp v1.0.2", "history keeps the failing container's last log lines")
		assert.NotEqual(t, state.OutcomeSucceeded, h[0].Outcome)
		_ = d
	})

	t.Run("failure after the switch: switched back, zero failed requests", func(t *testing.T) {
		boom := errors.New("injected failure after the switch")
		s := a.underLoad(rate, func() {
			_, err = a.deploy("v1.0.3", func(p *deploy.Pipeline) {
				require.NoError(t, p.InsertAfter(deploy.PhaseSwitch, deploy.NewPhase("break", func(ctx context.Context, d *deploy.Deployment) error {
					time.Sleep(500 * time.Millisecond) // traffic flows to the new colour meanwhile
					return boom
				})))
			})
		})
		require.ErrorIs(t, err, boom)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		assert.Greater(t, s.ByColour["blue"], 0, "the new colour served for a while")
		_, colour, body := a.serving()
		assert.Equal(t, "green", colour)
		assert.Contains(t, body, "v1.0.1")
		assert.Equal(t, "green", a.state().Live)
	})

	t.Run("monitor failure after the switch: automatic rollback, zero failed requests on working endpoints", func(t *testing.T) {
		// After the monitor's first check (the post-switch smoke on the
		// public URL passed), the new colour's health endpoint breaks (a
		// release failing minutes after the switch); "/" keeps working.
		a.onEvent = func(e deploy.Event, d *deploy.Deployment) {
			if e.Kind == deploy.EventProgress && e.Phase == deploy.PhaseVerify && strings.HasPrefix(e.Message, "check 1:") {
				out, err := exec.Command("docker", "compose", "-p", a.app+"-"+string(d.Next), "exec", "-T", "web", "/demoapp", "break", "/api/health/").CombinedOutput()
				assert.NoError(t, err, "%s", out)
			}
		}
		defer func() { a.onEvent = nil }()
		var d *deploy.Deployment
		s := a.underLoadOn("/", rate, func() { d, err = a.deploy("v1.0.3", nil) })
		var pe *deploy.PhaseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, deploy.PhaseVerify, pe.Phase)
		assert.ErrorIs(t, err, health.ErrBudgetExceeded)
		assert.Equal(t, deploy.OutcomeRolledBack, d.Outcome)
		assert.Zero(t, s.Failed, "failed requests on /: %v", s.Errors)
		assert.Greater(t, s.ByColour["blue"], 0, "the new colour served before it broke")
		_, colour, body := a.serving()
		assert.Equal(t, "green", colour)
		assert.Contains(t, body, "v1.0.1")
		assert.Equal(t, 0, a.existing("blue"), "the broken colour is removed")
		h, err := state.New(host.NewLocal(), a.appPath).History(context.Background(), 1)
		require.NoError(t, err)
		assert.Equal(t, state.OutcomeRolledBack, h[0].Outcome)
		assert.True(t, h[0].Automatic)
	})

	t.Run("smoke failure on one endpoint", func(t *testing.T) {
		a.setEnv("FAIL_ENDPOINT=/admin/")
		defer a.setEnv()
		_, err := a.deploy("v1.0.3", nil)
		var pe *deploy.PhaseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, deploy.PhaseSmoke, pe.Phase)
		assert.Contains(t, err.Error(), "/admin/")
		_, colour, _ := a.serving()
		assert.Equal(t, "green", colour)
	})

	t.Run("lock held: second deployment refused with holder", func(t *testing.T) {
		store := state.New(host.NewLocal(), a.appPath)
		l := state.NewLock(state.KindDeploy, "v9.9.9", "prod-v9.9.9-x", "someone else")
		held, err := store.Acquire(context.Background(), l)
		require.NoError(t, err)
		_, err = a.deploy("v1.0.3", nil)
		require.ErrorIs(t, err, state.ErrLocked)
		assert.Contains(t, err.Error(), "prod-v9.9.9-x")
		assert.Contains(t, err.Error(), "someone else")
		st, err := a.open().Status(context.Background(), 5)
		require.NoError(t, err)
		require.NotNil(t, st.Lock)
		assert.True(t, st.LockStatus.Alive)
		require.NoError(t, held.Release(context.Background()))
	})

	t.Run("manual rollback to the kept colour under load", func(t *testing.T) {
		eng := a.open()
		start := time.Now()
		var took time.Duration
		s := a.underLoad(rate, func() {
			err = eng.RollbackPipeline("").Run(context.Background(), eng.NewRollback())
			took = time.Since(start)
		})
		require.NoError(t, err)
		t.Logf("rollback took %s", took)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		_, colour, body := a.serving()
		assert.Equal(t, "blue", colour)
		assert.Contains(t, body, "v1.0.0")
		st := a.state()
		assert.Equal(t, "v1.0.0", st.Current.Version)
		assert.Equal(t, "v1.0.1", st.Previous.Version)
		assert.Equal(t, 0, a.running("green"))
	})
}
