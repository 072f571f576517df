package deploy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// TestRemoteCommandsPerPhasePinned deploys v1.0.0, then v1.0.1, and rolls
// back, on the fake host, and pins the remote commands of each phase as the
// report counts them (deploy.CountRemote, which Open wraps every host
// with): over SSH each is a session, or a round trip through the shared
// shell, so a change that adds round trips fails here, naming the phase.
// Health, smoke and monitor probes and the Docker API are not commands. On
// 8fa63d2 a deployment ran 208 remote commands (231 over SSH in issue 17:
// state written seven commands at a time, the in-flight marker before every
// phase, one command per preflight check) and a rollback 98; on 5078919 59
// and 19; on 1c088c8 48 and 14; now 39 and 13 (plus compose's version,
// asked once when the engine opens, outside any phase). These are the
// counts the same test measured on the real Docker Engine and nginx before
// it moved to the fake. The lock phase's second command, the state read
// under the lock, is the reconcile phase's since reconcile became a phase
// of its own. Issue 17's goals: at most 40 for a deployment, 15
// for a rollback.
func TestRemoteCommandsPerPhasePinned(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	want := []struct {
		run    string
		phases map[string]int
		max    int
	}{
		// unlock runs none: record cleared the in-flight record in its write.
		{"v1.0.0", map[string]int{"lock": 1, "reconcile": 1, "prepare": 2, "preflight": 4, "backup": 12, "start": 2,
			"migrate": 1, "health": 1, "switch": 3, "record": 2}, 40},
		{"v1.0.1", map[string]int{"lock": 1, "reconcile": 1, "prepare": 2, "preflight": 5, "backup": 19, "start": 2,
			"migrate": 1, "health": 1, "switch": 3, "retire": 1, "record": 2}, 40},
		{"rollback", map[string]int{"lock": 1, "reconcile": 1, "rollback-prepare": 2, "rollback-start": 1, "health": 1,
			"switch": 3, "retire": 1, "record": 2}, 15},
	}
	for _, w := range want {
		eng := a.engine(t)
		var d *deploy.Deployment
		var err error
		if w.run == "rollback" {
			d = eng.NewRollback()
			err = eng.RollbackPipeline("").Run(context.Background(), d)
		} else {
			d = eng.NewDeployment(version.MustParse(w.run))
			err = eng.Pipeline().Run(context.Background(), d)
		}
		require.NoError(t, err, w.run)
		got, total := map[string]int{}, 0
		for _, p := range d.Report.Phases {
			if p.RemoteCommands > 0 {
				got[p.Name] += p.RemoteCommands
				total += p.RemoteCommands
			}
		}
		assert.Equal(t, w.phases, got, "%s: remote commands per phase", w.run)
		assert.LessOrEqual(t, total, w.max, "%s: remote commands in all", w.run)
		t.Logf("%s: %d remote commands: %v", w.run, total, got)
	}
}
