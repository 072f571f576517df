package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// standbyE2E is the e2e app with a worker beside web (a service without
// ports: a standby stops it at once) and standby set to window.
func standbyE2E(t *testing.T, window string) *e2eApp {
	a := newE2E(t, "v1.0.0", "v1.0.1")
	compose, err := os.ReadFile(a.dir + "/docker-compose.yml")
	require.NoError(t, err)
	worker := "  worker:\n    image: " + a.repo + ":latest\n    environment: {MEDIA_DIR: /media}\n    volumes: [media:/media]\nvolumes:\n"
	require.NoError(t, os.WriteFile(a.dir+"/docker-compose.yml", []byte(strings.Replace(string(compose), "volumes:\n  media: {}", worker+"  media: {}", 1)), 0o644))
	a.setStandby(window)
	return a
}

// setStandby rewrites deploy.yml with standby: window and services web and worker.
func (a *e2eApp) setStandby(window string) {
	cfg, err := os.ReadFile(a.cfgFile)
	require.NoError(a.t, err)
	s := string(cfg)
	if i := strings.Index(s, "    standby: "); i >= 0 {
		s = s[:i] + s[i+strings.Index(s[i:], "\n")+1:]
	}
	s = strings.Replace(s, "    services: {stateless: [web]}\n", "    services: {stateless: [web, worker]}\n", 1)
	s = strings.Replace(s, "    services: {stateless: [web, worker]}\n", "    services: {stateless: [web, worker]}\n    standby: "+window+"\n", 1)
	require.NoError(a.t, os.WriteFile(a.cfgFile, []byte(s), 0o644))
}

// runningServices is how many containers of colour run, by service.
func (a *e2eApp) runningServices(colour string) map[string]int {
	out, err := execOutput("docker", "ps", "--filter", "label=com.docker.compose.project="+a.app+"-"+colour, "--format", `{{.Label "com.docker.compose.service"}}`)
	require.NoError(a.t, err)
	n := map[string]int{}
	for _, s := range strings.Fields(out) {
		n[s]++
	}
	return n
}

// rollback runs a manual rollback, returning it and the progress lines.
func (a *e2eApp) rollback() (*deploy.Deployment, []string, error) {
	eng := a.open()
	d := eng.NewRollback()
	var progress []string
	d.Observe = func(e deploy.Event) {
		if e.Kind == deploy.EventProgress {
			progress = append(progress, e.Phase+": "+e.Message)
		}
	}
	err := eng.RollbackPipeline("").Run(context.Background(), d)
	return d, progress, err
}

func phaseCommands(d *deploy.Deployment, name string) int {
	for _, p := range d.Report.Phases {
		if p.Name == name && !p.Undo {
			return p.RemoteCommands
		}
	}
	return -1
}

// TestStandbyRollbackIsASwitch deploys with standby on the real engine
// behind a real nginx: the old colour's web keeps running unrouted (its
// worker stops), status shows it, and a rollback within the window starts
// nothing before the switch (the old version answers, zero failed
// requests) and starts the worker after it. With a short window the host's
// job stops the standby by itself; a rollback after that is the cold one
// and still works; and a run past the window stops a standby the job did
// not (started again here by hand) before anything else.
func TestStandbyRollbackIsASwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	a := standbyE2E(t, "10m")
	for _, v := range []string{"v1.0.0", "v1.0.1"} {
		d, err := a.deploy(v, nil)
		require.NoError(t, err)
		require.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
	}
	assert.Equal(t, map[string]int{"web": 1}, a.runningServices("blue"), "blue's web stays warm, its worker stopped")
	st := a.state()
	require.NotNil(t, st.Standby)
	assert.Equal(t, "blue", st.Standby.Colour)
	assert.Equal(t, "v1.0.0", st.Standby.Release)
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), st.Standby.Until, time.Minute)
	_, colour, _ := a.serving()
	assert.Equal(t, "green", colour, "the standby is not routed")

	status, err := a.open().Status(context.Background(), 0)
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, status.Write(&out))
	assert.Regexp(t, `standby +blue runs v1\.0\.0 warm, unrouted, until 20\d\d-`, out.String())

	t.Run("rollback within the window: a switch", func(t *testing.T) {
		var d *deploy.Deployment
		var err error
		s := a.underLoad(200, func() { d, _, err = a.rollback() })
		require.NoError(t, err)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		assert.Equal(t, 0, phaseCommands(d, deploy.PhaseRollbackStart), "rollback-start ran a command: the standby was started again")
		_, colour, body := a.serving()
		assert.Equal(t, "blue", colour)
		assert.Contains(t, body, "v1.0.0")
		assert.Equal(t, map[string]int{"web": 1, "worker": 1}, a.runningServices("blue"), "blue's worker runs again")
		assert.Empty(t, a.runningServices("green"), "green is stopped")
		st := a.state()
		assert.Nil(t, st.Standby, "the standby serves now")
		assert.Equal(t, "v1.0.0", st.Current.Version)
	})

	t.Run("window expiry: the host's job stops it; a rollback after is cold", func(t *testing.T) {
		a.setStandby("2s")
		d, err := a.deploy("v1.0.1", nil)
		require.NoError(t, err)
		require.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
		assert.Equal(t, map[string]int{"web": 1}, a.runningServices("blue"))
		require.Eventually(t, func() bool { return len(a.runningServices("blue")) == 0 }, 30*time.Second, 250*time.Millisecond,
			"the host's job did not stop the standby after its window")
		_, colour, _ := a.serving()
		assert.Equal(t, "green", colour, "the job stopped the standby only")

		rb, _, err := a.rollback()
		require.NoError(t, err)
		assert.Equal(t, 1, phaseCommands(rb, deploy.PhaseRollbackStart), "a cold rollback starts the kept colour")
		_, colour, body := a.serving()
		assert.Equal(t, "blue", colour)
		assert.Contains(t, body, "v1.0.0")
		assert.Nil(t, a.state().Standby)
	})

	t.Run("a run past the window stops what the job did not", func(t *testing.T) {
		d, err := a.deploy("v1.0.1", nil) // blue live: green v1.0.1, blue the standby for 2s
		require.NoError(t, err)
		require.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
		require.Eventually(t, func() bool { return len(a.runningServices("blue")) == 0 }, 30*time.Second, 250*time.Millisecond)
		// As if the job had not run (the host rebooted, say).
		out, err := execOutput("docker", "compose", "-p", a.app+"-blue", "start", "web")
		require.NoError(t, err, "%s", out)
		require.Equal(t, map[string]int{"web": 1}, a.runningServices("blue"))

		rb, progress, err := a.rollback()
		require.NoError(t, err)
		assert.Contains(t, strings.Join(progress, "\n"), "reconcile: stopped the standby blue: its window ended")
		assert.Equal(t, 1, phaseCommands(rb, deploy.PhaseRollbackStart), "past the window the rollback is cold")
		_, colour, body := a.serving()
		assert.Equal(t, "blue", colour)
		assert.Contains(t, body, "v1.0.0")
	})
}

// execOutput runs a program on this machine and returns its combined output.
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
