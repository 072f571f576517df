package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/health"
)

// TestEveryStandardPhaseHasAUnitTest fails when a phase of the standard
// pipelines has no unit test in this package: TestPhase<Name> for a phase
// of the deployment (TestPhaseNotifyStart for notify-start), and for a
// phase of a rollback, the deployment's test when it is the same phase
// type, else TestPhaseRollback<Name> (TestPhaseRollbackHealth for the
// rollback's own health phase, TestPhaseRollbackCheck for rollback-check).
// A phase wrapped to run only further back (furtherBackOnly) is its
// wrapped phase.
func TestEveryStandardPhaseHasAUnitTest(t *testing.T) {
	tests := testFuncs(t)
	e := &Engine{Env: DefaultEnvironment("production"), App: "shop", Store: state.New(host.NewLocal(), "/srv/shop")}
	deployTypes := map[string]reflect.Type{}
	var want []string
	for _, ph := range e.Pipeline().Phases() {
		deployTypes[ph.Name()] = reflect.TypeOf(ph)
		want = append(want, "TestPhase"+camel(ph.Name()))
	}
	for _, to := range []string{"", "v1.0.0"} {
		for _, ph := range e.RollbackPipeline(to).Phases() {
			if f, ok := ph.(furtherBackOnly); ok {
				ph = f.Phase
			}
			name := "TestPhase" + camel(ph.Name())
			if deployTypes[ph.Name()] != reflect.TypeOf(ph) {
				name = "TestPhaseRollback" + camel(strings.TrimPrefix(ph.Name(), "rollback-"))
			}
			want = append(want, name)
		}
	}
	require.Contains(t, want, "TestPhaseRollbackCheck", "the rollback -to pipeline is covered")
	for _, name := range want {
		assert.True(t, tests[name], "no unit test %s in package deploy", name)
	}
}

// testFuncs is the set of Test functions in this directory's test files.
func testFuncs(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range af.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
				out[fn.Name.Name] = true
			}
		}
	}
	return out
}

// camel is a phase name as a Go identifier part: notify-start -> NotifyStart.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// TestServingPolicyFollowsTheHealthConfig: ensureServing's policy is the
// environment's check policy shortened, not a fixed 60 x 500ms (as on
// 7783282), so a test configuring 3 x 10ms checks fails in milliseconds;
// under the default backend policy it is still 60 x 500ms within 2 min.
func TestServingPolicyFollowsTheHealthConfig(t *testing.T) {
	def := servingPolicy(health.BackendPolicy())
	assert.Equal(t, 60, def.Attempts)
	assert.Equal(t, 500*time.Millisecond, def.Interval)
	assert.Equal(t, 5*time.Second, def.AttemptTimeout)
	assert.Equal(t, 2*time.Minute, def.Timeout)

	short := servingPolicy(health.Policy{Attempts: 3, Interval: 10 * time.Millisecond, AttemptTimeout: 500 * time.Millisecond, Timeout: 2 * time.Second})
	assert.Equal(t, health.Policy{Attempts: 3, Interval: 10 * time.Millisecond, AttemptTimeout: 500 * time.Millisecond, Timeout: 2 * time.Second}, short)

	// 5 x 2 s: the same 10 s of waiting, every 500 ms.
	assert.Equal(t, 20, servingPolicy(health.Policy{Attempts: 5, Interval: 2 * time.Second}).Attempts)
	// 120 x 250 ms (the bench's): 30 s, as the fixed policy waited.
	assert.Equal(t, 120, servingPolicy(health.Policy{Attempts: 120, Interval: 250 * time.Millisecond}).Attempts)
}
