package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// TestFaultLockTakenAwayStopsTheRunAndUndoesNothing force-releases the
// lock (`lock:release -force`, as an operator would for a run they believe
// hung) while a deployment waits in its health phase. Before this test the
// run went on regardless: it switched traffic and recorded itself while a
// second run could already hold the lock, so two runs changed the host at
// once. Now the run stops as soon as its host-side lock session ends, undoes
// nothing (the lock may be someone else's now), ends rollback-failed with
// an attention line naming `reconcile`, and users see no failed request:
// blue, which served, is never touched; the next reconcile removes the
// half-started green.
func TestFaultLockTakenAwayStopsTheRunAndUndoesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fault suite")
	}
	t.Parallel()
	f := newFaultApp(t)
	f.deployOK(t, "v1.0.0")
	f.setEnv("START_DELAY=8s")
	defer f.setEnv()
	blueEvents := f.watchColourEvents(t, "blue")
	var res *childResult
	var code int
	s := f.underLoad(faultRate, func() {
		c := f.startChild(t, childSpec{Version: "v1.0.1"})
		c.waitLine("EVENT phase-started health", 2*time.Minute)
		holder, err := f.engine(t).Store.ForceRelease(context.Background(), "test: taken away mid-run", true)
		require.NoError(t, err)
		require.NotNil(t, holder, "the running deployment held the lock")
		ws, r := c.wait(2 * time.Minute)
		code, res = ws.ExitStatus(), r
		_, colour, _ := f.serving()
		assert.Equal(t, "blue", colour, "blue still serves after the run stopped")
	})
	require.NotNil(t, res)
	assert.Equal(t, 1, code, "the run failed")
	assert.Equal(t, string(deploy.OutcomeRollbackFailed), res.Outcome, "error: %s", res.Err)
	assert.Contains(t, res.Err, "deploy lock lost")
	assert.Zero(t, s.Failed, "failed requests: %v", s.Errors)
	assert.Empty(t, blueEvents(), "nothing stopped the serving colour")
	for _, e := range f.history(t) {
		if e.Kind == state.KindDeploy && e.Version == "v1.0.1" {
			assert.NotEqual(t, state.OutcomeSucceeded, e.Outcome)
			assert.True(t, strings.Contains(e.Error, "reconcile"), "history says what to do: %s", e.Error)
		}
	}
	assert.Equal(t, "v1.0.0", f.currentVersion(t))

	rec, err := f.engine(t).Reconcile(context.Background())
	require.NoError(t, err)
	require.NotNil(t, rec)
	t.Logf("reconciled: %v", rec.Actions)
	assert.Equal(t, version.Blue, f.requireOneLive(t))
	assert.Zero(t, f.existing("green"), "reconcile removed the half-started green")
}
