package thebot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/console"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic/load"
	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// The load the scenarios run under, through the host nginx: the frontend
// at the rate issue 12 asks for, and a modest rate on a Django endpoint
// (two cores run the whole stack, the load generator and the deployment).
var scenarioLoad = []loadSpec{{"/", 150}, {"/api/health/", 20}}

type loadSpec struct {
	path string
	rate int
}

// runningLoad is load in progress on some paths of a stack.
type runningLoad struct {
	t    *testing.T
	gens map[string]*load.Generator
}

// startLoad sends specs' load through base until stop.
func startLoad(t *testing.T, base string, specs []loadSpec) *runningLoad {
	t.Helper()
	l := &runningLoad{t: t, gens: map[string]*load.Generator{}}
	for _, s := range specs {
		path := s.path
		// The bench's timeout: other jobs share the 2 cores, and a request
		// answered late is not a dropped one (p99 and max are logged).
		g, err := load.Start(context.Background(), load.Options{URL: base + path, Rate: s.rate, Timeout: 10 * time.Second, OnResult: func(r load.Result) {
			if r.Failed() {
				t.Logf("failed %s started %s after %s: %d %v", path, r.Start.Format("15:04:05.000"), r.Latency.Round(time.Millisecond), r.Status, r.Err)
			}
		}})
		require.NoError(t, err)
		l.gens[path] = g
	}
	return l
}

// stop ends the load and returns its statistics by path.
func (l *runningLoad) stop() map[string]load.Stats {
	out := map[string]load.Stats{}
	for path, g := range l.gens {
		s := g.Stop()
		l.t.Logf("load on %s: %s errors %v", path, s, s.Errors)
		assert.Positive(l.t, s.Sent, "no request sent to %s", path)
		out[path] = s
	}
	return out
}

// mageRunner runs the compiled Mage frontend against a thebot workspace,
// as a user (or the example workflow) runs `go tool mage <target>`.
type mageRunner struct {
	bin, dir string
	env      map[string]string
}

// mageResult is one run: exit code, output and the JSON report.
type mageResult struct {
	code           int
	stdout, stderr string
	report         console.Report
	took           time.Duration
}

func (r mageResult) String() string {
	return fmt.Sprintf("exit %d after %s\n--- stdout\n%s\n--- stderr\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, tailLines(r.stderr, 60))
}

// run runs target with args, with extra variables over the runner's.
func (m *mageRunner) run(t *testing.T, extra map[string]string, args ...string) mageResult {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.bin, args...)
	cmd.Dir = m.dir
	cmd.Env = []string{"BLUESHIFT_REPORT=" + report, "NO_COLOR=1"}
	for k, v := range m.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := mageResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", m.bin, args, err)
	}
	if b, err := os.ReadFile(report); err == nil {
		require.NoError(t, json.Unmarshal(b, &res.report), "report of %v", args)
	}
	t.Logf("mage %s: exit %d in %s (outcome %q)", strings.Join(args, " "), res.code, res.took.Round(time.Millisecond), res.report.Outcome)
	return res
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hostSnapshot describes what a deployment could change on the host: the
// app directory's files, the host nginx's upstream file and the stack's
// containers. Blueshift's record of the attempt is left out: the history,
// where even a stopped deployment is recorded, and state.json's time of
// update (its releases, live colour and run in flight are compared).
func hostSnapshot(t *testing.T, w *thebot.Workspace, appPath string) string {
	t.Helper()
	var b strings.Builder
	history := filepath.Join(appPath, state.Dir, "history.jsonl")
	err := filepath.WalkDir(appPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == history {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Base(p) == "state.json" {
			var st state.State
			require.NoError(t, json.Unmarshal(data, &st))
			st.Updated = time.Time{}
			data, _ = json.Marshal(st)
		}
		fmt.Fprintf(&b, "file %s %x\n", strings.TrimPrefix(p, appPath), sha256.Sum256(data))
		return nil
	})
	require.NoError(t, err)
	upstream, err := os.ReadFile(w.UpstreamFile())
	require.NoError(t, err)
	fmt.Fprintf(&b, "upstream %x\n", sha256.Sum256(upstream))
	out, err := exec.Command("docker", "ps", "-a", "--filter", "name="+w.App, "--format", "{{.Names}} {{.Image}} {{.State}} {{.CreatedAt}}").Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(lines)
	b.WriteString(strings.Join(lines, "\n"))
	return b.String()
}

// TestThebotScenariosThroughMage runs the scenarios of issue 12 on one
// thebot stack, each through the compiled Mage frontend (`go tool mage
// deploy:production …`, `rollback`) with the deploy.yml of
// thebot.DeployConfig:
//
//   - the test phase runs the app's own Django tests against a PostgreSQL
//     15 and a Redis started for them, and v1.0.0 deploys;
//   - a failing test stops the deployment of v1.0.1 before anything changes
//     on the host;
//   - v1.0.1 deploys; then, under load on / and /api/health/ through the
//     host nginx, each release variant (backend unhealthy, frontend 500 on
//     /, backend breaking after the switch) is rolled back automatically
//     with 0 failed requests on the endpoints that work, the summary and
//     the report naming the cause;
//   - `rollback` (to v1.0.0) and, after v1.0.1 again, `rollback
//     -to=v1.0.0`, under the same load: 0 failed requests.
//
// Subtests depend on the ones before them (one stack, in order).
func TestThebotScenariosThroughMage(t *testing.T) {
	requireTools(t)
	start := time.Now()
	ctx := context.Background()
	o := testOptions(t)
	bin := filepath.Join(t.TempDir(), "mage-blueshift")
	compiled := make(chan error, 1)
	go func() { compiled <- hosttest.CompileMage("../..", bin) }()
	o.Images = sharedImages(t)
	cleanupStack(t, o, o.App, o.App+"-blue", o.App+"-green", o.App+"-tests")
	w, err := thebot.Open(o)
	require.NoError(t, err)
	w.Images = o.Images
	require.NoError(t, w.WriteFiles(w.Images))
	require.NoError(t, w.StartProxy(ctx))
	appPath := filepath.Join(w.Dir, "srv")
	cfg, err := w.WriteDeployConfig(appPath, "10s", thebot.Workarounds{})
	require.NoError(t, err)
	require.NoError(t, <-compiled)
	m := &mageRunner{bin: bin, dir: w.Dir, env: map[string]string{
		"DEPLOY_CONFIG":            cfg,
		thebot.RegistryPasswordEnv: w.Images.Registry.Password,
		"PATH":                     os.Getenv("PATH"),
		"HOME":                     os.Getenv("HOME"),
		"USER":                     "thebot-scenarios",
	}}
	skipTests := map[string]string{"SKIP_TESTS": "true"}
	get, _ := clientFor(t, w.PublicURL())
	frontendSays := func(t *testing.T, v string) {
		t.Helper()
		code, _, body := get("/")
		assert.Equal(t, 200, code)
		assert.Contains(t, body, "version "+v, "/ must be %s's frontend", v)
	}
	t.Logf("setup (images, workspace, host nginx, mage binary) took %s", time.Since(start).Round(time.Millisecond))

	ok := t.Run("test phase passes, v1.0.0 deploys", func(t *testing.T) {
		defer logDuration(t)()
		r := m.run(t, nil, "deploy:production", thebot.FirstVersion)
		require.Zero(t, r.code, "%s", r)
		assert.Equal(t, "succeeded", r.report.Outcome)
		assert.Equal(t, "ok", phaseOutcome(r.report, "test"), "the test phase ran")
		out := r.stdout + r.stderr
		// Django's runner on the test services: its own test database on
		// PostgreSQL, every test of core passing.
		assert.Contains(t, out, "Creating test database for alias 'default'")
		assert.Regexp(t, `Ran [1-9]\d* tests? in`, out)
		assert.Regexp(t, `test_heartbeat_writes_a_row \(core\.tests\.TaskTests[^)]*\) \.\.\. ok`, out)
		assertTestServicesGone(t, w)
		frontendSays(t, thebot.FirstVersion)
	})
	require.True(t, ok, "the scenarios below need v1.0.0 live")

	t.Run("a failing test stops the deployment before the host changes", func(t *testing.T) {
		defer logDuration(t)()
		failing := filepath.Join(w.SourceDir(), "core", "test_release_gate.py")
		require.NoError(t, os.WriteFile(failing, []byte(`from django.test import TestCase


class ReleaseGate(TestCase):
    def test_fails_on_purpose(self):
        self.assertEqual(1, 2, "a test that fails on purpose")
`), 0o644))
		defer os.Remove(failing)
		before := hostSnapshot(t, w, appPath)
		r := m.run(t, nil, "deploy:production", thebot.SecondVersion)
		require.NotZero(t, r.code, "%s", r)
		assert.Equal(t, "failed", r.report.Outcome, "%s", r)
		require.NotNil(t, r.report.Failure, "%s", r)
		assert.Equal(t, "test", r.report.Failure.Phase)
		assert.Contains(t, r.report.Failure.Error, "test suite failed (sh "+thebot.TestScriptName+")")
		assert.Contains(t, r.stdout+r.stderr, "FAIL: test_fails_on_purpose")
		for _, p := range []string{"backup", "start", "switch"} {
			assert.Contains(t, []string{"", "skipped"}, phaseOutcome(r.report, p), "phase %s ran after the failed tests", p)
		}
		assert.Equal(t, before, hostSnapshot(t, w, appPath), "the failed test phase changed the host")
		assertTestServicesGone(t, w)
		frontendSays(t, thebot.FirstVersion)
	})

	ok = t.Run("v1.0.1 deploys", func(t *testing.T) {
		defer logDuration(t)()
		r := m.run(t, skipTests, "deploy:production", thebot.SecondVersion)
		require.Zero(t, r.code, "%s", r)
		frontendSays(t, thebot.SecondVersion)
	})
	require.True(t, ok, "the scenarios below need v1.0.1 live")

	for _, c := range []struct {
		version string
		phase   string
		cause   []string // in the report's failure and the printed summary
		broken  string   // a path expected to fail under load while the release was live
	}{
		{thebot.UnhealthyVersion, "health", []string{"/api/health/", "503"}, ""},
		{thebot.BrokenFrontendVersion, "health", []string{"500"}, ""},
		{thebot.BreaksLaterVersion, "verify", []string{"500"}, "/api/health/"},
	} {
		t.Run(c.version+" is rolled back", func(t *testing.T) {
			defer logDuration(t)()
			l := startLoad(t, w.PublicURL(), scenarioLoad)
			r := m.run(t, skipTests, "deploy:production", c.version)
			stats := l.stop()
			require.NotZero(t, r.code, "%s", r)
			assert.Equal(t, "rolled-back", r.report.Outcome, "%s", r)
			require.NotNil(t, r.report.Failure, "%s", r)
			assert.Equal(t, c.phase, r.report.Failure.Phase, "%s", r)
			t.Logf("failed in %s: %s", r.report.Failure.Phase, r.report.Failure.Error)
			for _, s := range c.cause {
				assert.Contains(t, r.report.Failure.Error, s, "the report names the cause")
				assert.Contains(t, r.stdout, s, "the summary names the cause")
			}
			assert.Contains(t, r.stdout, "rolled back")
			for path, s := range stats {
				if path != c.broken {
					assert.Zero(t, s.Failed, "requests to %s failed", path)
				}
			}
			frontendSays(t, thebot.SecondVersion)
		})
	}

	rollback := func(t *testing.T, args ...string) {
		l := startLoad(t, w.PublicURL(), scenarioLoad)
		r := m.run(t, nil, args...)
		stats := l.stop()
		require.Zero(t, r.code, "%s", r)
		for path, s := range stats {
			assert.Zero(t, s.Failed, "requests to %s failed", path)
		}
		frontendSays(t, thebot.FirstVersion)
	}
	t.Run("rollback under load", func(t *testing.T) {
		defer logDuration(t)()
		rollback(t, "rollback")
	})
	t.Run("rollback -to=v1.0.0 under load", func(t *testing.T) {
		defer logDuration(t)()
		r := m.run(t, skipTests, "deploy:production", thebot.SecondVersion)
		require.Zero(t, r.code, "%s", r)
		frontendSays(t, thebot.SecondVersion)
		rollback(t, "rollback", "-to="+thebot.FirstVersion)
	})
}

// logDuration logs how long the (sub)test took, for the lead's table.
func logDuration(t *testing.T) func() {
	start := time.Now()
	return func() { t.Logf("%s took %s", t.Name(), time.Since(start).Round(time.Second)) }
}

// phaseOutcome is the outcome of the run (not undo) of phase in rep, ""
// when it did not run.
func phaseOutcome(rep console.Report, phase string) string {
	for _, p := range rep.Phases {
		if p.Name == phase && !p.Undo {
			return p.Outcome
		}
	}
	return ""
}

// assertTestServicesGone checks the test phase removed its PostgreSQL and
// Redis.
func assertTestServicesGone(t *testing.T, w *thebot.Workspace) {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+w.TestProject()).Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "the test phase's containers are left behind")
}
