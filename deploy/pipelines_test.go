package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// TestStandardPipelinesShowEverythingTheyDo pins the two standard
// pipelines as lists and checks that every phase says what it would do
// for deploy:plan. On dfd9197 part of a deployment ran outside the lists:
// the lock phase also reconciled, prepare also announced the start, and
// NewDeployment installed the in-flight marker; and a phase's dry-run
// text was a case of plan.go's describe switch, so a standard phase
// without one was planned as "(user phase)". Now reconcile and
// notify-start are phases, the marker is the pipelines' BeforePhase, and
// each phase type carries its own Plan.
func TestStandardPipelinesShowEverythingTheyDo(t *testing.T) {
	env := DefaultEnvironment("production")
	env.Tests.Command = []string{"go", "test", "./..."}
	e := &Engine{Env: env, App: "shop", Store: state.New(host.NewLocal(), "/srv/shop"), Getenv: func(string) string { return "" }}
	d := &Deployment{ID: "production-v1.0.1-x", Version: version.MustParse("v1.0.1"), Live: version.Blue, Next: version.Green}

	cases := []struct {
		name string
		p    *Pipeline
		want []string
	}{
		{"deploy", e.Pipeline(), []string{"lock", "reconcile", "prepare", "notify-start", "preflight", "test", "backup", "start",
			"migrate", "health", "smoke", "switch", "verify", "retire", "record", "notify", "unlock"}},
		{"rollback", e.RollbackPipeline(""), []string{"lock", "reconcile", "rollback-prepare", "rollback-start", "health",
			"switch", "retire", "record", "notify", "unlock"}},
		{"rollback -to", e.RollbackPipeline("v1.0.0"), []string{"rollback-check", "lock", "reconcile", "rollback-prepare",
			"preflight", "rollback-start", "health", "smoke", "switch", "verify", "retire", "record", "notify", "unlock"}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.p.Names(), c.name)
		assert.NotNil(t, c.p.BeforePhase, "%s: the in-flight marker is the pipeline's hook", c.name)
		assert.Equal(t, env.Timeouts.Deployment, c.p.Deadline, c.name)
		for _, ph := range c.p.Phases() {
			pl, ok := ph.(Planner)
			require.True(t, ok, "%s: phase %s has no dry-run text", c.name, ph.Name())
			does, err := pl.Plan(context.Background(), d)
			require.NoError(t, err)
			assert.NotEmpty(t, does, "%s: phase %s", c.name, ph.Name())
			_, undo := ph.(Undoer)
			assert.Equal(t, ph.Name() == PhaseStart || ph.Name() == PhaseRollbackStart || ph.Name() == PhaseSwitch || ph.Name() == PhaseRetire,
				undo, "%s: phase %s: only the phases that change the host undo", c.name, ph.Name())
			final := isFinal(ph)
			assert.Equal(t, ph.Name() == PhaseRecord || ph.Name() == PhaseNotify || ph.Name() == PhaseUnlock, final, "%s: phase %s", c.name, ph.Name())
		}
	}

	// Some texts, as deploy:plan prints them.
	plan := func(name string) string {
		for _, ph := range e.Pipeline().Phases() {
			if ph.Name() == name {
				s, _ := ph.(Planner).Plan(context.Background(), d)
				return s
			}
		}
		return ""
	}
	assert.Equal(t, "take the deploy lock in /srv/shop/.blueshift", plan(PhaseLock))
	assert.Equal(t, "run go test ./...", plan(PhaseTest))
	assert.Equal(t, "nothing: first deployment", func() string {
		s, _ := retirePhase{e}.Plan(context.Background(), &Deployment{Next: version.Blue})
		return s
	}())
	assert.True(t, strings.HasPrefix(plan(PhasePrepare), "deployment production-v1.0.1-x: blue -> green"), plan(PhasePrepare))
	s, _ := furtherBackOnly{smokePhase{e}}.Plan(context.Background(), d)
	assert.True(t, strings.HasSuffix(s, "(only further back than the previous release)"), s)
}
