package deploy_test

// Fault cases where undoing itself fails: the switch back to the old colour
// is refused (nginx's configuration broken after the switch, or the old
// colour unhealthy). Undo must then leave the colour the proxy serves
// running, say so, and record it as the current release.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// breakNginx makes nginx refuse its configuration (nginx -t fails) while
// the running nginx keeps serving with the old one; it returns the repair.
func (f *faultApp) breakNginx(t *testing.T) (repair func()) {
	t.Helper()
	conf := filepath.Join(f.nginx.Dir, "nginx.conf")
	good, err := os.ReadFile(conf)
	require.NoError(t, err)
	broken := strings.Replace(string(good), "http {", "http {\n    include /nonexistent/blueshift-fault-undo.conf;", 1)
	require.NoError(t, os.WriteFile(conf, []byte(broken), 0o644))
	return func() { require.NoError(t, os.WriteFile(conf, good, 0o644)) }
}

// breakPath makes colour c's demo app answer 500 on path (all its
// containers' processes, until they restart).
func (f *faultApp) breakPath(t *testing.T, c version.Colour, path string) {
	t.Helper()
	out, err := exec.Command("docker", "compose", "-p", f.app+"-"+string(c), "exec", "-T", "web", "/demoapp", "break", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// runPipeline runs p for d on eng, logging failed phases and undo steps;
// observe, when set, sees every event.
func runPipeline(t *testing.T, p *deploy.Pipeline, d *deploy.Deployment, observe func(deploy.Event)) error {
	t.Helper()
	d.Observe = func(e deploy.Event) {
		if observe != nil {
			observe(e)
		}
		if e.Err != nil && (e.Kind == deploy.EventPhaseFinished || e.Kind == deploy.EventUndoFinished) {
			t.Logf("%s %s: %v", e.Kind, e.Phase, e.Err)
		}
	}
	return p.Run(context.Background(), d)
}

// requireLeftServing checks a run whose switch back failed: rollback-failed,
// the undo error says ErrStillServing, the attention line names the colour
// serving and the command to run, nothing in flight, the lock free, and
// history and state record what serves.
func (f *faultApp) requireLeftServing(t *testing.T, d *deploy.Deployment, serving version.Colour, v, back string) {
	t.Helper()
	assert.Equal(t, deploy.OutcomeRollbackFailed, d.Outcome)
	assert.True(t, slices.ContainsFunc(d.UndoErrors, func(u *deploy.PhaseError) bool { return errors.Is(u, deploy.ErrStillServing) }),
		"an undo error says the colour was left serving: %v", d.UndoErrors)
	t.Logf("attention: %s", d.Attention)
	assert.Contains(t, d.Attention, string(serving)+" ("+v+") is still serving")
	assert.Contains(t, d.Attention, "go tool mage rollback -to="+back+" -env="+d.Environment) // named: with several environments none is assumed
	assert.Greater(t, f.running(string(serving)), 0, "the serving colour %s runs", serving)
	code, colour, body := f.serving()
	assert.Equal(t, 200, code)
	assert.Equal(t, string(serving), colour, "the proxy still serves %s", serving)
	assert.Contains(t, body, v)

	st := f.state()
	assert.Equal(t, string(serving), st.Live)
	require.NotNil(t, st.Current)
	assert.Equal(t, v, st.Current.Version, "state records the release that serves")
	require.NotNil(t, st.Previous)
	assert.Equal(t, back, st.Previous.Version)
	assert.Nil(t, st.InFlight)
	assert.Nil(t, f.lock(t), "the lock is free")
	h := f.history(t)
	last := h[len(h)-1]
	assert.Equal(t, "rollback-failed", last.Outcome)
	assert.Equal(t, string(serving), last.Colour, "history names the colour that serves")
	assert.Contains(t, last.Error, "is still serving")
}

// TestFaultSwitchBackFailsAfterFailedVerify: the new colour fails the
// post-switch monitor, and the switch back is refused (nginx's
// configuration broken meanwhile, or the old colour unhealthy). The new
// colour keeps serving, the outcome is rollback-failed with what to do, and
// no request fails. On 239a55e the undo of start then removed the colour
// nginx served: every request failed (502) until a person intervened.
func TestFaultSwitchBackFailsAfterFailedVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")

	t.Run("nginx refuses the switch back", func(t *testing.T) {
		var repair func()
		defer func() {
			if repair != nil {
				repair()
			}
		}()
		var d *deploy.Deployment
		var err error
		// The load asks "/": the health endpoint of the new colour is what
		// breaks (the monitor watches it).
		s := f.underLoadOn("/", faultRate, func() {
			d, err = f.run(t, "v1.0.1", func(e deploy.Event) {
				if e.Kind == deploy.EventPhaseStarted && e.Phase == deploy.PhaseVerify {
					f.breakPath(t, version.Green, "/api/health/")
					repair = f.breakNginx(t)
				}
			})
		})
		var pe *deploy.PhaseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, deploy.PhaseVerify, pe.Phase)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		assert.Greater(t, s.ByColour["green"], 0)
		f.requireLeftServing(t, d, version.Green, "v1.0.1", "v1.0.0")
		assert.True(t, slices.ContainsFunc(d.UndoErrors, func(u *deploy.PhaseError) bool {
			return u.Phase == deploy.PhaseSwitch && errors.Is(u, traffic.ErrConfigInvalid)
		}), "the switch back failed on nginx -t: %v", d.UndoErrors)
		assert.Contains(t, d.Attention, "blueshift-fault-undo.conf", "the attention line names the cause")

		// The advice works once the cause is fixed.
		repair()
		repair = nil
		eng := f.engine(t)
		rb := eng.NewRollback()
		s = f.underLoadOn("/", faultRate, func() { err = runPipeline(t, eng.RollbackPipeline("v1.0.0"), rb, nil) })
		require.NoError(t, err)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		assert.Equal(t, version.Blue, f.requireOneLive(t))
		assert.Equal(t, "v1.0.0", f.currentVersion(t))
	})

	t.Run("the old colour is unhealthy", func(t *testing.T) {
		// blue (v1.0.0) serves, green is stopped and kept. The new release
		// goes to green; when its monitor starts, blue's health endpoint
		// breaks (as a migration the old code cannot read would break it).
		var d *deploy.Deployment
		var err error
		s := f.underLoadOn("/", faultRate, func() {
			d, err = f.run(t, "v1.0.1", func(e deploy.Event) {
				if e.Kind == deploy.EventPhaseStarted && e.Phase == deploy.PhaseVerify {
					f.breakPath(t, version.Green, "/api/health/")
					f.breakPath(t, version.Blue, "/api/health/")
				}
			})
		})
		var pe *deploy.PhaseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, deploy.PhaseVerify, pe.Phase)
		assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
		f.requireLeftServing(t, d, version.Green, "v1.0.1", "v1.0.0")
		assert.Contains(t, d.Attention, "blue is not healthy")
	})
}

// TestFaultRollbackSwitchBackFails: a manual rollback switched to the kept
// colour, a later phase failed, and the switch back is refused (nginx's
// configuration broken). The colour rolled back to keeps serving. On
// 239a55e the undo of rollback-start stopped it while nginx sent traffic
// to it.
func TestFaultRollbackSwitchBackFails(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")
	f.deployOK(t, "v1.0.1") // green serves; blue (v1.0.0) is kept, stopped

	var repair func()
	defer func() {
		if repair != nil {
			repair()
		}
	}()
	boom := errors.New("injected failure after the switch")
	eng := f.engine(t)
	p := eng.RollbackPipeline("")
	require.NoError(t, p.InsertAfter(deploy.PhaseSwitch, deploy.NewPhase("break", func(ctx context.Context, d *deploy.Deployment) error {
		repair = f.breakNginx(t)
		return boom
	})))
	d := eng.NewRollback()
	var err error
	s := f.underLoad(faultRate, func() { err = runPipeline(t, p, d, nil) })
	require.ErrorIs(t, err, boom)
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Greater(t, s.ByColour["blue"], 0)
	f.requireLeftServing(t, d, version.Blue, "v1.0.0", "v1.0.1")
	h := f.history(t)
	assert.Equal(t, state.KindRollback, h[len(h)-1].Kind)

	repair()
	repair = nil
	f.deployOK(t, "v1.0.1")
}
