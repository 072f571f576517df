package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// phaseRan reports whether d's report has phase name run (not undo) with
// outcome ok.
func phaseRan(d *deploy.Deployment, name string) bool {
	return slices.ContainsFunc(d.Report.Phases, func(p deploy.PhaseResult) bool {
		return p.Name == name && !p.Undo && p.Outcome == deploy.PhaseOK
	})
}

func hasFact(d *deploy.Deployment, name string) bool {
	return slices.ContainsFunc(d.Report.Facts, func(f deploy.Fact) bool { return f.Name == name })
}

// TestRollbackToOnlyVersionsThatWereLive: `rollback -to=VERSION` refuses a
// version that never served in the environment (never deployed, or whose
// deployment failed) before it takes the lock, writes history or notifies,
// naming the deployment that would put it there; a version older than the
// previous release goes through preflight, smoke and the monitor like a
// deployment, under load with no failed request. On 239a55e rollback
// -to=v9.9.9 took the lock, announced the rollback and went on to render
// v9.9.9 (it failed only when the image pull did), and rollback -to=v1.0.0
// switched after a single health check: no preflight, smoke or monitor.
func TestRollbackToOnlyVersionsThatWereLive(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	var notified atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notified.Add(1)
	}))
	defer hook.Close()

	a := newE2E(t, "v1.0.0", "v1.0.1", "v1.0.2", "v1.0.3")
	f := &faultApp{e2eApp: a, env: map[string]string{"USER": "e2e"}}
	f.editEnv(t, func(env map[string]any) {
		env["notify"] = map[string]any{"webhook": map[string]any{"url": hook.URL}}
		env["monitor"] = map[string]any{"window": "1s", "interval": "100ms", "max_errors": 2}
	})
	for _, v := range []string{"v1.0.0", "v1.0.1", "v1.0.2"} {
		f.deployOK(t, v)
	}
	// v1.0.3 was deployed, but failed its health check: it never served.
	a.setEnv("FAIL_HEALTH=1")
	d, err := f.run(t, "v1.0.3", nil)
	require.Error(t, err)
	require.NotEqual(t, deploy.OutcomeSucceeded, d.Outcome)
	a.setEnv()
	// blue serves v1.0.2, green holds v1.0.1 (previous) stopped.

	stateFile := filepath.Join(a.appPath, ".blueshift", "state.json")
	t.Run("refused before anything changes", func(t *testing.T) {
		for _, to := range []string{"v9.9.9", "v1.0.3"} {
			t.Run(to, func(t *testing.T) {
				stateBefore, err := os.ReadFile(stateFile)
				require.NoError(t, err, "state.json is where the test expects it")
				hist, sent := len(f.history(t)), notified.Load()
				eng := f.engine(t)
				d := eng.NewRollback()
				err = runPipeline(t, eng.RollbackPipeline(to), d, nil)
				require.ErrorIs(t, err, deploy.ErrNeverLive)
				assert.Contains(t, err.Error(), to+" was never live in production; to deploy it, run `go tool mage deploy:production "+to+"`")
				assert.Equal(t, deploy.PhaseRollbackCheck, d.Failure.Phase)
				assert.Equal(t, deploy.OutcomeFailed, d.Outcome)
				assert.Nil(t, d.Lock, "the lock was never taken")
				assert.Nil(t, f.lock(t))
				assert.Len(t, f.history(t), hist, "nothing written to history")
				assert.Equal(t, sent, notified.Load(), "nobody notified")
				stateAfter, err := os.ReadFile(stateFile)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(stateBefore, stateAfter), "state.json untouched")
				_, colour, body := a.serving()
				assert.Equal(t, "blue", colour)
				assert.Contains(t, body, "v1.0.2")
			})
		}
	})

	t.Run("further back than the previous release: preflight, smoke and monitor", func(t *testing.T) {
		eng := f.engine(t)
		d := eng.NewRollback()
		s := a.underLoad(100, func() { err = runPipeline(t, eng.RollbackPipeline("v1.0.0"), d, nil) })
		require.NoError(t, err)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		for _, ph := range []string{deploy.PhasePreflight, deploy.PhaseSmoke, deploy.PhaseVerify} {
			assert.True(t, phaseRan(d, ph), "phase %s ran", ph)
		}
		assert.True(t, hasFact(d, "smoke"), "the smoke suite ran: %v", d.Report.Facts)
		assert.True(t, hasFact(d, "monitor"), "the monitor watched the switch: %v", d.Report.Facts)
		_, colour, body := a.serving()
		assert.Equal(t, "green", colour)
		assert.Contains(t, body, "v1.0.0")
		st := a.state()
		assert.Equal(t, "v1.0.0", st.Current.Version)
		assert.Equal(t, "v1.0.2", st.Previous.Version)
	})

	t.Run("back to the previous release: no extra checks", func(t *testing.T) {
		eng := f.engine(t)
		d := eng.NewRollback()
		require.NoError(t, runPipeline(t, eng.RollbackPipeline("v1.0.2"), d, nil))
		assert.False(t, hasFact(d, "monitor"), "returning to the kept previous release skips the monitor")
		assert.Equal(t, version.Blue, f.requireOneLive(t))
		assert.Equal(t, "v1.0.2", f.currentVersion(t))
	})
}

// TestRollbackWorkflowReachesTheTarget runs the rollback step of
// examples/github/rollback.yml as GitHub runs it (its run: script under
// bash -e, with the step's env: and the `to` input filled in) in this
// repository, so `go tool mage rollback` is the real frontend, against an
// app where v1.0.0, v1.0.1 and v1.0.2 were deployed. On 239a55e the step
// ran `go tool mage rollback` with the input only in $ROLLBACK_TO, which
// nothing read: asking for v1.0.0 returned to v1.0.1.
func TestRollbackWorkflowReachesTheTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	a := newE2E(t, "v1.0.0", "v1.0.1", "v1.0.2")
	for _, v := range []string{"v1.0.0", "v1.0.1", "v1.0.2"} {
		d, err := a.deploy(v, nil)
		require.NoError(t, err)
		require.Equal(t, deploy.OutcomeSucceeded, d.Outcome)
	}

	data, err := os.ReadFile(filepath.Join("..", "examples", "github", "rollback.yml"))
	require.NoError(t, err)
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Steps []struct {
				Run string            `yaml:"run"`
				Env map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &wf))
	var script string
	var stepEnv map[string]string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "go tool mage rollback") {
				script, stepEnv = s.Run, s.Env
			}
		}
	}
	require.NotEmpty(t, script, "rollback.yml has a step running go tool mage rollback")
	file := filepath.Join(t.TempDir(), "step.sh")
	require.NoError(t, os.WriteFile(file, []byte(script), 0o600))

	// runStep runs the step with input to, as the runner does: the
	// workflow's and the step's env: with expressions evaluated (inputs
	// filled in, the secrets this local host does not need empty), and the
	// app's deploy.yml as DEPLOY_CONFIG (the workflow names it relative to
	// the app's checkout).
	report := filepath.Join(t.TempDir(), "report.json")
	runStep := func(to string) (int, string) {
		env := []string{"USER=e2e"}
		for _, k := range []string{"PATH", "HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOTOOLCHAIN", "GOPROXY", "GOROOT"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
		for _, m := range []map[string]string{wf.Env, stepEnv} {
			for k, v := range m {
				switch v {
				case "${{ inputs.to }}":
					v = to
				case "${{ inputs.reason }}":
					v = "workflow test"
				}
				if strings.Contains(v, "${{") {
					v = ""
				}
				env = append(env, k+"="+v)
			}
		}
		env = append(env, "DEPLOY_CONFIG="+a.cfgFile, "BLUESHIFT_REPORT="+report)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-e", file)
		cmd.Dir = ".." // the repository's root, where `go tool mage` finds the magefiles
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out)
		}
		require.NoError(t, err, "%s", out)
		return 0, string(out)
	}

	t.Run("to=v9.9.9: refused, nothing changes", func(t *testing.T) {
		code, out := runStep("v9.9.9")
		assert.Equal(t, 1, code, "%s", out)
		assert.Contains(t, out, "v9.9.9 was never live in production; to deploy it, run `go tool mage deploy:production v9.9.9`")
		assert.Equal(t, "v1.0.2", a.state().Current.Version)
	})
	t.Run("to=v1.0.0: v1.0.0 is live", func(t *testing.T) {
		code, out := runStep("v1.0.0")
		require.Equal(t, 0, code, "%s", out)
		st := a.state()
		assert.Equal(t, "v1.0.0", st.Current.Version, "%s", out)
		assert.Equal(t, "v1.0.2", st.Previous.Version)
		_, colour, body := a.serving()
		assert.Equal(t, st.Live, colour)
		assert.Contains(t, body, "v1.0.0")
	})
	t.Run("to empty: the previous release", func(t *testing.T) {
		code, out := runStep("")
		require.Equal(t, 0, code, "%s", out)
		assert.Equal(t, "v1.0.2", a.state().Current.Version, "%s", out)
	})
}
