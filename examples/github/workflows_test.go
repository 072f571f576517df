package githubworkflows_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The workflows under test, relative to this package's directory.
const (
	production = "deploy-production.yml"
	staging    = "deploy-staging.yml"
	rollback   = "rollback.yml"
	ci         = "../../.github/workflows/ci.yml"
)

// The secrets the deploy step of production and rollback must receive
// through env:, under the names the seed pipeline uses.
var productionSecrets = []string{
	"PRODUCTION_HOST", "PRODUCTION_USER", "PRODUCTION_PATH", "PRODUCTION_SSH_KEY",
	"TELEGRAM_BOT_TOKEN", "TELEGRAM_PUBLIC_CHAT_ID", "TELEGRAM_LOG_CHAT_ID", "GITHUB_TOKEN",
}

// workflowFiles lists every workflow the tests cover: the examples and
// blueshift's own .github/workflows. A new file is linted without touching
// this test.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml", "../../.github/workflows/*.yml", "../../.github/workflows/*.yaml"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	for _, want := range []string{production, staging, rollback, ci} {
		require.Contains(t, files, want, "workflow missing")
	}
	return files
}

// ---- actionlint -------------------------------------------------------

// finding is one actionlint error, as lintworkflows prints it.
type finding struct {
	File, Kind, Message string
	Line, Column        int
}

func (f finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", f.File, f.Line, f.Column, f.Message, f.Kind)
}

// linterBinary builds ./lintworkflows (actionlint used as a library, in a
// module of its own: see its doc comment for why) once per test binary.
var linterBinary = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command to build lintworkflows (is it on PATH?): %w", err)
	}
	dir, err := os.MkdirTemp("", "lintworkflows-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "lintworkflows")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Dir = "lintworkflows"
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build lintworkflows: %w\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := linterBinary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// lint runs actionlint on files. shellcheck and pyflakes are disabled (they
// are external programs, not installed here); every other rule runs:
// syntax, expressions and their types, contexts, inputs of popular actions,
// runner labels, events, globs, permissions, credentials, untrusted input
// in scripts.
func lint(t *testing.T, files ...string) []finding {
	t.Helper()
	bin, err := linterBinary()
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, files...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "actionlint could not check %v: %s", files, stderr.String())
	var found []finding
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &found), "lintworkflows output: %s", stdout.String())
	return found
}

func formatLint(found []finding) string {
	var b strings.Builder
	for _, f := range found {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func TestActionlintFindsNoErrors(t *testing.T) {
	for _, file := range workflowFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			found := lint(t, file)
			assert.Empty(t, found, "actionlint:\n%s", formatLint(found))
		})
	}
}

// The linter must really be running: each broken copy of the production
// workflow is reported, with the rule and the offending name.
func TestActionlintReportsBrokenWorkflows(t *testing.T) {
	original, err := os.ReadFile(production)
	require.NoError(t, err)
	cases := []struct {
		name, old, new string
		kind, mention  string
	}{
		{"unknown job key", "    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    runs-onn: ubuntu-latest\n", "syntax-check", "runs-onn"},
		{"unknown top-level key", "concurrency:\n", "concurency:\n", "syntax-check", "concurency"},
		{"undefined input", "${{ inputs.reason }}", "${{ inputs.reasno }}", "expression", "reasno"},
		{"unknown action input", "go-version-file: go.mod", "go-version-fil: go.mod", "action", "go-version-fil"},
		{"untrusted input in a script", `run: go tool mage deploy:production "$VERSION"`, `run: go tool mage deploy:production "${{ github.event.head_commit.message }}"`, "expression", "untrusted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, 1, bytes.Count(original, []byte(c.old)), "the mutation's anchor %q must occur once", c.old)
			broken := bytes.Replace(original, []byte(c.old), []byte(c.new), 1)
			path := filepath.Join(t.TempDir(), "deploy-production.yml")
			require.NoError(t, os.WriteFile(path, broken, 0o644))
			found := lint(t, path)
			require.NotEmpty(t, found, "actionlint accepted a broken workflow")
			assert.True(t, slices.ContainsFunc(found, func(f finding) bool {
				return f.Kind == c.kind && strings.Contains(f.Message, c.mention)
			}), "want a %s error mentioning %q, got:\n%s", c.kind, c.mention, formatLint(found))
		})
	}
}

// ---- structure ---------------------------------------------------------

type workflow struct {
	Name        string            `yaml:"name"`
	On          triggers          `yaml:"on"`
	Concurrency concurrency       `yaml:"concurrency"`
	Permissions map[string]string `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]job    `yaml:"jobs"`

	triggerNames []string // the keys under on:, in order
}

type triggers struct {
	Release struct {
		Types []string `yaml:"types"`
	} `yaml:"release"`
	WorkflowDispatch struct {
		Inputs map[string]input `yaml:"inputs"`
	} `yaml:"workflow_dispatch"`
	WorkflowRun struct {
		Workflows []string `yaml:"workflows"`
		Types     []string `yaml:"types"`
		Branches  []string `yaml:"branches"`
	} `yaml:"workflow_run"`
	Push struct {
		Branches []string `yaml:"branches"`
	} `yaml:"push"`
}

type input struct {
	Description string  `yaml:"description"`
	Required    bool    `yaml:"required"`
	Default     *string `yaml:"default"`
	Type        string  `yaml:"type"`
}

type concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress *bool  `yaml:"cancel-in-progress"`
}

type job struct {
	Name           string            `yaml:"name"`
	If             string            `yaml:"if"`
	RunsOn         string            `yaml:"runs-on"`
	TimeoutMinutes int               `yaml:"timeout-minutes"`
	Environment    environment       `yaml:"environment"`
	Permissions    map[string]string `yaml:"permissions"`
	Env            map[string]string `yaml:"env"`
	Steps          []step            `yaml:"steps"`
}

type environment struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
}

type step struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

func parse(t *testing.T, content []byte) (*workflow, *yaml.Node) {
	t.Helper()
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal(content, &root))
	var w workflow
	require.NoError(t, root.Decode(&w))
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "on" {
			for j := 0; j < len(doc.Content[i+1].Content); j += 2 {
				w.triggerNames = append(w.triggerNames, doc.Content[i+1].Content[j].Value)
			}
		}
	}
	return &w, &root
}

func load(t *testing.T, file string) *workflow {
	t.Helper()
	content, err := os.ReadFile(file)
	require.NoError(t, err)
	w, _ := parse(t, content)
	return w
}

// onlyJob returns the workflow's single job.
func onlyJob(t *testing.T, w *workflow) job {
	t.Helper()
	require.Len(t, w.Jobs, 1, "one job expected")
	for _, j := range w.Jobs {
		return j
	}
	panic("unreachable")
}

// stepIndex finds the first step whose uses: starts with action or whose
// run: script contains command; -1 when there is none.
func stepIndex(steps []step, action, command string) int {
	return slices.IndexFunc(steps, func(s step) bool {
		return (action != "" && strings.HasPrefix(s.Uses, action+"@")) ||
			(command != "" && strings.Contains(s.Run, command))
	})
}

// effectiveEnv is what a step sees: workflow env, then job env, then step env.
func effectiveEnv(w *workflow, j job, s step) map[string]string {
	env := map[string]string{}
	for _, m := range []map[string]string{w.Env, j.Env, s.Env} {
		for k, v := range m {
			env[k] = v
		}
	}
	return env
}

// assertDeployJob checks what every deploying job shares: checkout, Go from
// go.mod, the host key written from the secret before the command runs, the
// command with its secrets in env, and the report uploaded afterwards even
// on failure.
func assertDeployJob(t *testing.T, w *workflow, j job, command, knownHostsSecret string, secrets []string) step {
	t.Helper()
	assert.Positive(t, j.TimeoutMinutes, "timeout-minutes")
	assert.NotEmpty(t, j.Environment.Name, "environment name")
	assert.True(t, strings.HasPrefix(j.Environment.URL, "https://"), "environment url %q", j.Environment.URL)

	checkout := stepIndex(j.Steps, "actions/checkout", "")
	setupGo := stepIndex(j.Steps, "actions/setup-go", "")
	knownHosts := stepIndex(j.Steps, "", "~/.ssh/known_hosts")
	deploy := stepIndex(j.Steps, "", command)
	report := stepIndex(j.Steps, "actions/upload-artifact", "")
	require.True(t, checkout >= 0 && setupGo >= 0 && knownHosts >= 0 && deploy >= 0 && report >= 0,
		"steps: checkout %d, setup-go %d, known_hosts %d, deploy %d, report %d", checkout, setupGo, knownHosts, deploy, report)
	assert.Less(t, checkout, deploy)
	assert.Less(t, setupGo, deploy)
	assert.Less(t, knownHosts, deploy, "known_hosts must be written before connecting")
	assert.Less(t, deploy, report)

	assert.Equal(t, "go.mod", j.Steps[setupGo].With["go-version-file"])
	assert.Equal(t, "${{ secrets."+knownHostsSecret+" }}", j.Steps[knownHosts].Env["KNOWN_HOSTS"])

	d := j.Steps[deploy]
	assert.Equal(t, command, strings.TrimSpace(d.Run))
	env := effectiveEnv(w, j, d)
	for _, s := range secrets {
		assert.Equal(t, "${{ secrets."+s+" }}", env[s], "secret %s must reach the deploy step through env", s)
	}
	assert.Equal(t, "deploy.yml", env["DEPLOY_CONFIG"])

	r := j.Steps[report]
	assert.Equal(t, "always()", r.If, "the report must be uploaded when the deployment fails too")
	assert.Equal(t, "blueshift-report.json", env["BLUESHIFT_REPORT"])
	path := r.With["path"]
	if path == "${{ env.BLUESHIFT_REPORT }}" {
		path = effectiveEnv(w, j, r)["BLUESHIFT_REPORT"]
	}
	assert.Equal(t, env["BLUESHIFT_REPORT"], path, "the artifact must be the report the tool writes")
	assert.NotEmpty(t, r.With["name"])
	return d
}

// assertQueued checks that runs of w share the concurrency group and that a
// new run waits for the running one instead of cancelling it.
func assertQueued(t *testing.T, w *workflow, group string) {
	t.Helper()
	assert.Equal(t, group, w.Concurrency.Group)
	require.NotNil(t, w.Concurrency.CancelInProgress, "cancel-in-progress must be explicit")
	assert.False(t, *w.Concurrency.CancelInProgress, "a running deployment must never be cancelled")
}

func TestProductionWorkflow(t *testing.T) {
	w := load(t, production)

	assert.ElementsMatch(t, []string{"release", "workflow_dispatch", "workflow_run"}, w.triggerNames)
	assert.Equal(t, []string{"published"}, w.On.Release.Types)
	in := w.On.WorkflowDispatch.Inputs
	require.Contains(t, in, "version")
	require.Contains(t, in, "reason")
	require.Contains(t, in, "skip_tests")
	assert.False(t, in["version"].Required, "version is optional (empty means auto)")
	require.NotNil(t, in["version"].Default)
	assert.Empty(t, *in["version"].Default)
	assert.Equal(t, "string", in["version"].Type)
	assert.Equal(t, "string", in["reason"].Type)
	assert.Equal(t, "boolean", in["skip_tests"].Type)
	require.NotNil(t, in["skip_tests"].Default)
	assert.Equal(t, "false", *in["skip_tests"].Default)
	assert.Equal(t, []string{"CI"}, w.On.WorkflowRun.Workflows)
	assert.Equal(t, []string{"completed"}, w.On.WorkflowRun.Types)
	assert.Equal(t, []string{"main"}, w.On.WorkflowRun.Branches)

	assertQueued(t, w, "deploy-production")
	assert.Equal(t, map[string]string{"contents": "read", "deployments": "write"}, w.Permissions)

	j := onlyJob(t, w)
	assert.Equal(t, "production", j.Environment.Name)
	// workflow_run fires for failed CI runs too: only successful pushes to main deploy.
	for _, cond := range []string{
		"github.event_name != 'workflow_run'",
		"github.event.workflow_run.conclusion == 'success'",
		"github.event.workflow_run.event == 'push'",
		"github.event.workflow_run.head_branch == 'main'",
	} {
		assert.Contains(t, j.If, cond)
	}
	checkout := j.Steps[stepIndex(j.Steps, "actions/checkout", "")]
	assert.Equal(t, "0", checkout.With["fetch-depth"], "release notes need the full history")
	assert.Contains(t, checkout.With["ref"], "github.event.workflow_run.head_sha", "after CI, deploy the commit CI tested")

	d := assertDeployJob(t, w, j, `go tool mage deploy:production "$VERSION"`, "PRODUCTION_KNOWN_HOSTS", productionSecrets)
	env := effectiveEnv(w, j, d)
	assert.Equal(t, "${{ inputs.reason }}", env["DEPLOY_REASON"])
	assert.Equal(t, "${{ inputs.skip_tests }}", env["SKIP_TESTS"])
	assert.Equal(t, "${{ steps.version.outputs.version }}", env["VERSION"])
}

func TestStagingWorkflow(t *testing.T) {
	w := load(t, staging)
	assert.Contains(t, w.triggerNames, "push")
	assert.Equal(t, []string{"main"}, w.On.Push.Branches)
	assertQueued(t, w, "deploy-staging")
	j := onlyJob(t, w)
	assert.Equal(t, "staging", j.Environment.Name)
	assertDeployJob(t, w, j, "go tool mage deploy:staging auto", "STAGING_KNOWN_HOSTS",
		[]string{"STAGING_HOST", "STAGING_USER", "STAGING_PATH", "STAGING_SSH_KEY", "GITHUB_TOKEN"})
}

func TestRollbackWorkflow(t *testing.T) {
	w := load(t, rollback)
	assert.Equal(t, []string{"workflow_dispatch"}, w.triggerNames)
	to := w.On.WorkflowDispatch.Inputs["to"]
	assert.False(t, to.Required, "to is optional: empty means the previous release")
	assert.Equal(t, "string", to.Type)
	// A rollback must wait for a running deployment, not run beside it.
	assertQueued(t, w, load(t, production).Concurrency.Group)
	j := onlyJob(t, w)
	assert.Equal(t, "production", j.Environment.Name)
	d := assertDeployJob(t, w, j, rollbackCommand, "PRODUCTION_KNOWN_HOSTS", productionSecrets)
	assert.Equal(t, "${{ inputs.to }}", effectiveEnv(w, j, d)["ROLLBACK_TO"])
}

// rollbackCommand is the rollback step's script: the `to` input, from env,
// becomes one -to= argument, and no argument when it is empty.
const rollbackCommand = `go tool mage rollback ${ROLLBACK_TO:+"-to=$ROLLBACK_TO"}`

// TestRollbackStepArguments runs the rollback step's script with a `go` on
// PATH that prints its arguments: the input arrives as one -to= argument
// whatever it holds, and is never executed. (That the real target then
// returns to that version is deploy's TestRollbackWorkflowReachesTheTarget,
// which runs this script against a deployed app.) On 239a55e the script
// was `go tool mage rollback`: the input reached nothing.
func TestRollbackStepArguments(t *testing.T) {
	j := onlyJob(t, load(t, rollback))
	s := j.Steps[stepIndex(j.Steps, "", "go tool mage rollback")]
	bin := t.TempDir()
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "go"), []byte(fake), 0o755))
	for _, c := range []struct{ name, to, want string }{
		{"empty: the previous release", "", "[tool]\n[mage]\n[rollback]\n"},
		{"a version", "v1.0.0", "[tool]\n[mage]\n[rollback]\n[-to=v1.0.0]\n"},
		{"spaces and globs stay one argument", "v1.0.0 deploy:production *", "[tool]\n[mage]\n[rollback]\n[-to=v1.0.0 deploy:production *]\n"},
		{"command substitution is not run", "$(touch pwned)", "[tool]\n[mage]\n[rollback]\n[-to=$(touch pwned)]\n"},
		{"a flag-looking input stays the value of -to", "-h", "[tool]\n[mage]\n[rollback]\n[-to=-h]\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := runStep(t, s, dir, map[string]string{"ROLLBACK_TO": c.to})
			require.NoError(t, err, "output: %s", out)
			assert.Equal(t, c.want, out)
			assert.NoFileExists(t, filepath.Join(dir, "pwned"), "input was executed")
		})
	}
}

func TestCIWorkflow(t *testing.T) {
	w := load(t, ci)
	assert.Equal(t, "CI", w.Name, "deploy-production.yml's workflow_run names this workflow")
	j := onlyJob(t, w)
	assert.Equal(t, "ubuntu-latest", j.RunsOn)
	assert.Positive(t, j.TimeoutMinutes)
	i := stepIndex(j.Steps, "", "bash .ci/run")
	require.GreaterOrEqual(t, i, 0, "a step must run .ci/run")
	assert.True(t, strings.HasPrefix(j.Steps[i].Run, "sudo -E "), "runs as root keeping the environment: %q", j.Steps[i].Run)
	assert.Equal(t, "true", effectiveEnv(w, j, j.Steps[i])["CI"], "CI=true makes missing components fail, not skip")
	assert.Equal(t, "go.mod", j.Steps[stepIndex(j.Steps, "actions/setup-go", "")].With["go-version-file"])
	_, err := os.Stat("../../.ci/run")
	assert.NoError(t, err, "the script the workflow runs must exist")
}

// ---- safety rules for every workflow ---------------------------------

var hostKeyCheckingOff = regexp.MustCompile(`(?i)StrictHostKeyChecking\s*[= ]\s*(no|off|accept-new)|UserKnownHostsFile\s*[= ]\s*/dev/null|InsecureIgnoreHostKey`)

// problems checks the rules every workflow keeps and returns one line per
// breach.
func problems(t *testing.T, content []byte) []string {
	t.Helper()
	w, root := parse(t, content)
	var out []string
	if hostKeyCheckingOff.Match(content) {
		out = append(out, "host key checking turned off")
	}
	if len(w.Permissions) == 0 {
		out = append(out, "no top-level permissions: (least privilege must be explicit)")
	}
	for name, j := range w.Jobs {
		if j.TimeoutMinutes <= 0 {
			out = append(out, fmt.Sprintf("job %s: no timeout-minutes", name))
		}
		for i, s := range j.Steps {
			// Expressions are expanded into the script text before the
			// shell runs: whatever they hold becomes code.
			if strings.Contains(s.Run, "${{") {
				out = append(out, fmt.Sprintf("job %s step %d (%s): ${{ }} inside run:; pass the value through env:", name, i, s.Name))
			}
			if s.Uses != "" && !strings.HasPrefix(s.Uses, "./") && !strings.Contains(s.Uses, "@") {
				out = append(out, fmt.Sprintf("job %s step %d: %s is not pinned to a version", name, i, s.Uses))
			}
		}
	}
	// Secrets appear only as values of env: maps.
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], append(slices.Clone(path), n.Content[i].Value))
			}
		case yaml.ScalarNode:
			if strings.Contains(n.Value, "secrets.") && (len(path) < 2 || path[len(path)-2] != "env") {
				out = append(out, fmt.Sprintf("line %d: a secret outside env: (%s)", n.Line, strings.Join(path, ".")))
			}
		}
	}
	walk(root, nil)
	return out
}

func TestEveryWorkflowKeepsTheSafetyRules(t *testing.T) {
	for _, file := range workflowFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			content, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Empty(t, problems(t, content))
		})
	}
}

// The safety checks must catch what they are for.
func TestSafetyRulesCatchBreaches(t *testing.T) {
	original, err := os.ReadFile(production)
	require.NoError(t, err)
	cases := []struct{ name, old, new, want string }{
		{"input interpolated into a script", `run: go tool mage deploy:production "$VERSION"`, `run: go tool mage deploy:production "${{ inputs.version }}"`, "${{ }} inside run:"},
		{"event data interpolated into a script", `echo "Deploying $version"`, `echo "Deploying ${{ github.event.release.name }}"`, "${{ }} inside run:"},
		{"host key checking off", "chmod 0600 ~/.ssh/known_hosts\n", "chmod 0600 ~/.ssh/known_hosts\n          export GIT_SSH_COMMAND='ssh -o StrictHostKeyChecking=no'\n", "host key checking turned off"},
		{"secret as an action input", "          go-version-file: go.mod\n", "          go-version-file: go.mod\n          token: ${{ secrets.GITHUB_TOKEN }}\n", "a secret outside env:"},
		{"no job timeout", "    timeout-minutes: 120\n", "", "no timeout-minutes"},
		{"unpinned action", "actions/setup-go@v6", "actions/setup-go", "not pinned"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, 1, bytes.Count(original, []byte(c.old)), "the mutation's anchor %q must occur once", c.old)
			found := problems(t, bytes.Replace(original, []byte(c.old), []byte(c.new), 1))
			assert.True(t, slices.ContainsFunc(found, func(p string) bool { return strings.Contains(p, c.want) }),
				"want a problem containing %q, got %q", c.want, found)
		})
	}
}

// ---- the scripts themselves --------------------------------------------

// runStep runs a step's script the way a step without shell: runs on a
// Linux runner (bash -e FILE), in dir, with exactly env (and PATH).
func runStep(t *testing.T, s step, dir string, env map[string]string) (output string, err error) {
	t.Helper()
	bash, lookErr := exec.LookPath("bash")
	require.NoError(t, lookErr, "bash runs the workflows' scripts")
	script := filepath.Join(t.TempDir(), "step.sh")
	require.NoError(t, os.WriteFile(script, []byte(s.Run), 0o600))
	cmd := exec.Command(bash, "-e", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestVersionResolution(t *testing.T) {
	w := load(t, production)
	j := onlyJob(t, w)
	i := slices.IndexFunc(j.Steps, func(s step) bool { return s.ID == "version" })
	require.GreaterOrEqual(t, i, 0, "a step with id: version")
	s := j.Steps[i]
	// The script reads these variables, and only these carry the event's data.
	assert.Equal(t, map[string]string{
		"EVENT_NAME":    "${{ github.event_name }}",
		"RELEASE_TAG":   "${{ github.event.release.tag_name }}",
		"INPUT_VERSION": "${{ inputs.version }}",
	}, s.Env)

	cases := []struct {
		name, event, tag, input string
		want                    string // "" means the step must fail
	}{
		{"release tag", "release", "v1.0.1", "", "v1.0.1"},
		{"release candidate", "release", "v1.0.0-rc1", "", "v1.0.0-rc1"},
		{"dispatch with version", "workflow_dispatch", "", "v1.2.3", "v1.2.3"},
		{"dispatch without version", "workflow_dispatch", "", "", "auto"},
		{"after CI", "workflow_run", "", "", "auto"},
		{"after CI ignores input", "workflow_run", "v9.9.9", "v9.9.9", "auto"},
		{"command substitution", "workflow_dispatch", "", "$(touch pwned)", ""},
		{"output injection", "workflow_dispatch", "", "v1.0.0\nversion=evil", ""},
		{"shell metacharacters in a tag", "release", "v1.0.1;touch pwned", "", ""},
		{"empty tag", "release", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			outputs := filepath.Join(dir, "github_output")
			require.NoError(t, os.WriteFile(outputs, nil, 0o600))
			out, err := runStep(t, s, dir, map[string]string{
				"EVENT_NAME": c.event, "RELEASE_TAG": c.tag, "INPUT_VERSION": c.input, "GITHUB_OUTPUT": outputs,
			})
			written, readErr := os.ReadFile(outputs)
			require.NoError(t, readErr)
			if c.want == "" {
				assert.Error(t, err, "output: %s", out)
				assert.Contains(t, out, "::error::")
				assert.Empty(t, string(written), "nothing may reach GITHUB_OUTPUT")
			} else {
				require.NoError(t, err, "output: %s", out)
				assert.Equal(t, "version="+c.want+"\n", string(written))
			}
			assert.NoFileExists(t, filepath.Join(dir, "pwned"), "input was executed")
		})
	}
}

func TestKnownHostsStep(t *testing.T) {
	for _, file := range []string{production, staging, rollback} {
		t.Run(file, func(t *testing.T) {
			j := onlyJob(t, load(t, file))
			s := j.Steps[stepIndex(j.Steps, "", "~/.ssh/known_hosts")]

			home := t.TempDir()
			line := "|1|abc=|def= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkey"
			out, err := runStep(t, s, home, map[string]string{"HOME": home, "KNOWN_HOSTS": line})
			require.NoError(t, err, "output: %s", out)
			got, err := os.ReadFile(filepath.Join(home, ".ssh", "known_hosts"))
			require.NoError(t, err)
			assert.Equal(t, line+"\n", string(got))
			fi, err := os.Stat(filepath.Join(home, ".ssh", "known_hosts"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			di, err := os.Stat(filepath.Join(home, ".ssh"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

			// An unset secret stops the job with a message saying what to add.
			home = t.TempDir()
			out, err = runStep(t, s, home, map[string]string{"HOME": home, "KNOWN_HOSTS": ""})
			assert.Error(t, err)
			assert.Contains(t, out, "::error::secret ")
			assert.Contains(t, out, "_KNOWN_HOSTS is empty")
			assert.NoFileExists(t, filepath.Join(home, ".ssh", "known_hosts"))
		})
	}
}
