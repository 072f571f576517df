package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// stepText is a step as the table below writes it: "op colour", with
// opState's decisions spelled out.
func stepText(s reconcileStep) string {
	op := map[reconcileOp]string{opNote: "note", opStart: "start", opServe: "serve", opDrain: "drain",
		opRemove: "remove", opStop: "stop", opState: "state", opRecord: "record"}[s.Op]
	parts := []string{op}
	if s.Colour != "" {
		parts = append(parts, string(s.Colour))
	}
	if s.Promote != nil {
		parts = append(parts, "promote="+s.Promote.Version+"@"+s.Promote.Colour)
	}
	if s.ClearInFlight {
		parts = append(parts, "clear")
	}
	return strings.Join(parts, " ")
}

func planText(steps []reconcileStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, stepText(s))
	}
	return out
}

// inFlight is a run of kind from -> to of v1.0.1 that died in phase.
func inFlight(kind, phase string, from, to version.Colour) *state.InFlight {
	return &state.InFlight{Kind: kind, DeploymentID: "id-1", Version: "v1.0.1", From: string(from), To: string(to), Phase: phase,
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Holder: "ci@runner"}
}

var (
	v100Blue  = &state.Release{Version: "v1.0.0", Colour: "blue"}
	deadOwner = &state.Lock{Kind: state.KindDeploy, Holder: "ci@runner", Version: "v1.0.1", DeploymentID: "id-1"}
	bothUp    = map[version.Colour]bool{version.Blue: true, version.Green: true}
	blueUp    = map[version.Colour]bool{version.Blue: true}
	greenUp   = map[version.Colour]bool{version.Green: true}
)

// deployPhasesBefore/AfterSwitch are the deployment phases a run can die
// in with the proxy still on the old colour, and after it moved.
var (
	deployPhasesBeforeSwitch = []string{PhaseLock, PhasePrepare, PhasePreflight, PhaseTest, PhaseBackup, PhaseStart, PhaseMigrate, PhaseHealth, PhaseSmoke, PhaseSwitch}
	deployPhasesAfterSwitch  = []string{PhaseSwitch, PhaseVerify, PhaseRetire, PhaseRecord, PhaseNotify, PhaseUnlock}
)

func TestDecideReconcile(t *testing.T) {
	type tc struct {
		name string
		view reconcileView
		want []string
	}
	cases := []tc{
		{"nothing to do: no run in flight, the lock was free",
			reconcileView{State: state.State{Live: "blue", Current: v100Blue}, Live: version.Blue}, nil},
		{"nothing to do even when state and proxy disagree: no run died",
			reconcileView{State: state.State{Live: "green", Current: v100Blue}, Live: version.Blue}, nil},
		{"dead holder, nothing in flight, state agrees with the proxy",
			reconcileView{State: state.State{Live: "blue", Current: v100Blue}, Holder: deadOwner, Live: version.Blue},
			[]string{"note", "record"}},
		{"dead holder, nothing in flight, state's live colour is wrong",
			reconcileView{State: state.State{Live: "green", Current: v100Blue}, Holder: deadOwner, Live: version.Blue},
			[]string{"note", "state blue", "record"}},
		{"dead holder, nothing in flight, nobody knows the live colour: state is left alone",
			reconcileView{State: state.State{}, Holder: deadOwner},
			[]string{"note", "record"}},
		{"first deployment died before any switch: nothing serves, the half-started colour goes, no drain",
			reconcileView{State: state.State{InFlight: inFlight(state.KindDeploy, PhaseHealth, "", version.Blue)}, Running: blueUp},
			[]string{"remove blue", "state clear", "record"}},
		{"first deployment died after its switch: it is kept and becomes current",
			reconcileView{State: state.State{InFlight: inFlight(state.KindDeploy, PhaseVerify, "", version.Blue)}, Live: version.Blue, Running: blueUp},
			[]string{"serve blue", "state blue promote=v1.0.1@blue clear", "record"}},
		{"in flight with the lock taken over: the note comes first",
			reconcileView{State: state.State{Live: "blue", Current: v100Blue, InFlight: inFlight(state.KindDeploy, PhaseStart, version.Blue, version.Green)},
				Holder: deadOwner, Live: version.Blue, Running: bothUp},
			[]string{"note", "serve blue", "drain green", "remove green", "state blue clear", "record"}},
		{"the proxy serves a stopped colour: it is started before anything else",
			reconcileView{State: state.State{Live: "blue", Current: v100Blue, InFlight: inFlight(state.KindDeploy, PhaseSwitch, version.Blue, version.Green)},
				Live: version.Blue, Running: greenUp},
			[]string{"start blue", "serve blue", "drain green", "remove green", "state blue clear", "record"}},
		{"state already names the switched-to release: it is not promoted twice",
			reconcileView{State: state.State{Live: "blue", Current: &state.Release{Version: "v1.0.1", Colour: "green"}, Previous: v100Blue,
				InFlight: inFlight(state.KindDeploy, PhaseNotify, version.Blue, version.Green)}, Live: version.Green, Running: bothUp},
			[]string{"serve green", "drain blue", "stop blue", "state green clear", "record"}},
		{"a rollback that never switched: the kept colour it started is stopped again",
			reconcileView{State: state.State{Live: "green", InFlight: inFlight(state.KindRollback, PhaseHealth, version.Green, version.Blue)},
				Live: version.Green, Running: bothUp},
			[]string{"serve green", "drain blue", "stop blue", "state green clear", "record"}},
		{"a rollback that switched: the colour it left is stopped, kept",
			reconcileView{State: state.State{Live: "green", InFlight: inFlight(state.KindRollback, PhaseVerify, version.Green, version.Blue)},
				Live: version.Blue, Running: bothUp},
			[]string{"serve blue", "drain green", "stop green", "state blue promote=v1.0.1@blue clear", "record"}},
		{"died before prepare chose colours: only the live colour is asserted",
			reconcileView{State: state.State{Live: "blue", Current: v100Blue, InFlight: inFlight(state.KindDeploy, PhaseLock, "", "")},
				Live: version.Blue, Running: blueUp},
			[]string{"serve blue", "state blue clear", "record"}},
	}
	for _, p := range deployPhasesBeforeSwitch {
		cases = append(cases, tc{"deployment died at " + p + ", proxy still on the live colour",
			reconcileView{State: state.State{Live: "blue", Current: v100Blue, InFlight: inFlight(state.KindDeploy, p, version.Blue, version.Green)},
				Live: version.Blue, Running: bothUp},
			[]string{"serve blue", "drain green", "remove green", "state blue clear", "record"}})
	}
	for _, p := range deployPhasesAfterSwitch {
		cases = append(cases, tc{"deployment died at " + p + ", proxy on the next colour",
			reconcileView{State: state.State{Live: "blue", Current: v100Blue, InFlight: inFlight(state.KindDeploy, p, version.Blue, version.Green)},
				Live: version.Green, Running: bothUp},
			[]string{"serve green", "drain blue", "stop blue", "state green promote=v1.0.1@green clear", "record"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decideReconcile(c.view)
			assert.Equal(t, c.want, planText(got))
			for _, s := range got {
				assert.NotEmpty(t, s.Why, "every step says why: %s", stepText(s))
			}
		})
	}
}

// TestDecideReconcileNeverStopsTheServingColour checks every combination
// of run kind, colours, proxy view and running containers: no step stops
// or removes the colour the proxy serves, the live colour is asserted
// before anything is stopped, and history is written last.
func TestDecideReconcileNeverStopsTheServingColour(t *testing.T) {
	colours := []version.Colour{"", version.Blue, version.Green}
	n := 0
	for _, kind := range []string{state.KindDeploy, state.KindRollback} {
		for _, from := range colours {
			for _, to := range colours {
				for _, live := range colours {
					for _, running := range []map[version.Colour]bool{nil, blueUp, greenUp, bothUp} {
						v := reconcileView{State: state.State{Live: string(from), InFlight: inFlight(kind, PhaseHealth, from, to)}, Live: live, Running: running}
						steps := decideReconcile(v)
						name := fmt.Sprintf("%s %q->%q live %q running %v: %v", kind, from, to, live, running, planText(steps))
						require.NotEmpty(t, steps, name)
						assert.Equal(t, opRecord, steps[len(steps)-1].Op, name)
						served := !live.Valid()
						for _, s := range steps {
							switch s.Op {
							case opServe:
								served = true
							case opStop, opRemove, opDrain:
								assert.NotEqual(t, live, s.Colour, "the serving colour is never stopped: %s", name)
								assert.True(t, served, "the live colour is asserted first: %s", name)
							case opStart:
								assert.False(t, running[s.Colour], "only a stopped colour is started: %s", name)
							}
						}
						n++
					}
				}
			}
		}
	}
	assert.Equal(t, 2*3*3*3*4, n)
}

func TestApplyState(t *testing.T) {
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	in := inFlight(state.KindDeploy, PhaseRetire, version.Blue, version.Green)
	in.Release = &state.Release{Version: "v1.0.1", Images: map[string]string{"web": "shop@sha256:ab"}}
	st := state.State{Live: "blue", Current: v100Blue, InFlight: in}
	steps := decideReconcile(reconcileView{State: st, Live: version.Green, Running: bothUp})
	i := slices.IndexFunc(steps, func(s reconcileStep) bool { return s.Op == opState })
	require.GreaterOrEqual(t, i, 0)
	applyState(&st, steps[i], now)
	assert.Nil(t, st.InFlight)
	assert.Equal(t, "green", st.Live)
	assert.Equal(t, v100Blue, st.Previous)
	require.NotNil(t, st.Current)
	assert.Equal(t, state.Release{Version: "v1.0.1", Colour: "green", DeployedAt: now, Images: map[string]string{"web": "shop@sha256:ab"}}, *st.Current,
		"the in-flight release (with its images) is kept")

	// A live colour nobody knows leaves state's alone.
	st = state.State{Live: "blue"}
	applyState(&st, reconcileStep{Op: opState, ClearInFlight: true}, now)
	assert.Equal(t, "blue", st.Live)
}
