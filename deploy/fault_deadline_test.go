package deploy_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// colourContainers is each container of colour with its start time: a
// container stopped, removed or restarted shows as a change.
func (f *faultApp) colourContainers(t *testing.T, colour string) string {
	t.Helper()
	ids, err := exec.Command("docker", "ps", "-aq", "--no-trunc", "--filter", "label=com.docker.compose.project="+f.app+"-"+colour).Output()
	require.NoError(t, err)
	if len(strings.Fields(string(ids))) == 0 {
		return ""
	}
	out, err := exec.Command("docker", append([]string{"inspect", "--format", "{{.Id}} {{.State.Status}} {{.State.StartedAt}}"}, strings.Fields(string(ids))...)...).Output()
	require.NoError(t, err)
	return string(out)
}

// TestFaultDeadlineExceededDuringHealthRollsBack: the next colour never
// becomes healthy within timeouts.deployment (40s here), while its own
// health policy would wait 10 minutes.
//
// On 239a55e nothing enforced timeouts.deployment: the run waited out the
// health policy (10 minutes here), holding the lock past the age at which
// another run judged it stale; and preflight compared the deadline with the
// health timeout alone. Now preflight refuses the configuration, listing
// the worst case of every phase against the deadline; and a run that gets
// past preflight anyway (here: preflight taken out of the pipeline, as a
// phase of one's own or a stuck call could overrun its share) fails at the
// deadline in phase health with a message naming timeouts.deployment, is
// rolled back like any failure (record, notify and unlock run on their own
// budgets after it), and the live colour is never touched.
func TestFaultDeadlineExceededDuringHealthRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")
	blueBefore := f.colourContainers(t, "blue")
	require.Contains(t, blueBefore, " running ")

	f.editEnv(t, func(env map[string]any) {
		env["health"] = map[string]any{"backend": map[string]any{"url": "/api/health/", "service": "web",
			"attempts": 100000, "interval": "100ms", "timeout": "10m", "attempt_timeout": "2s"}}
		env["timeouts"] = map[string]any{"drain": "100ms", "notify": "2s", "deployment": "40s"}
	})
	f.setEnv("START_DELAY=10m") // green never listens during the test
	defer f.setEnv()

	// Preflight sees that the bounds cannot fit in the deadline.
	d, err := f.run(t, "v1.0.1", nil)
	require.Error(t, err)
	require.NotNil(t, d.Failure)
	assert.Equal(t, deploy.PhasePreflight, d.Failure.Phase)
	assert.Equal(t, deploy.OutcomeFailed, d.Outcome)
	for _, w := range []string{"environments.production.timeouts.deployment: 40s cannot hold the worst cases of the phases, which add up to ",
		"health.backend.timeout 10m0s", "timeouts.start 10m0s", "backup.timeout 10m0s", "hooks.migrate_timeout 10m0s", "raise timeouts.deployment to at least "} {
		assert.Contains(t, err.Error(), w)
	}
	assert.Zero(t, f.existing("green"), "preflight changed nothing")

	// Past preflight, the deadline stops the run.
	eng := f.engine(t)
	p := eng.Pipeline()
	require.NoError(t, p.Remove(deploy.PhasePreflight))
	d = eng.NewDeployment(version.MustParse("v1.0.1"))
	healthStarted := false
	d.Observe = func(e deploy.Event) {
		if e.Kind == deploy.EventPhaseStarted && e.Phase == deploy.PhaseHealth {
			healthStarted = true
		}
		if e.Err != nil && (e.Kind == deploy.EventPhaseFinished || e.Kind == deploy.EventUndoFinished) {
			t.Logf("%s %s: %v", e.Kind, e.Phase, e.Err)
		}
	}
	s := f.underLoad(faultRate, func() { err = p.Run(context.Background(), d) })

	require.True(t, healthStarted, "the run reached health before the deadline (the phases before it take seconds): %v", err)
	var de *deploy.DeadlineError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, deploy.PhaseHealth, de.Phase)
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.False(t, errors.Is(err, deploy.ErrInterrupted), "a deadline is not an interrupt")
	assert.Contains(t, err.Error(), "phase health: deployment deadline (timeouts.deployment = 40s) exceeded in phase health")
	assert.Equal(t, deploy.OutcomeRolledBack, d.Outcome)
	undone := false
	for _, ph := range d.Report.Phases {
		if ph.Undo && ph.Name == deploy.PhaseStart && ph.Outcome == deploy.PhaseUndone {
			undone = true
		}
	}
	assert.True(t, undone, "the start of the next colour was undone: %+v", d.Report.Phases)

	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Zero(t, f.existing("green"), "the next colour is removed")
	assert.Equal(t, version.Blue, f.requireOneLive(t)) // and the lock is free
	_, _, body := f.serving()
	assert.Contains(t, body, "v1.0.0")
	assert.Equal(t, blueBefore, f.colourContainers(t, "blue"), "the live colour's containers were not stopped or restarted")

	// record ran after the deadline, on its own budget.
	h := f.history(t)
	last := h[len(h)-1]
	assert.Equal(t, state.KindDeploy, last.Kind)
	assert.Equal(t, "v1.0.1", last.Version)
	assert.Equal(t, state.OutcomeRolledBack, last.Outcome)
	assert.Equal(t, deploy.PhaseHealth, last.Phase)
	assert.Contains(t, last.Error, "deployment deadline (timeouts.deployment = 40s) exceeded in phase health")
}
