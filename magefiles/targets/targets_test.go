package targets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
	bsversion "github.com/blueshift-deploy/blueshift/deploy/version"
)

// secrets are put in the environment of every run; none may be printed.
var secrets = map[string]string{
	"PRODUCTION_SSH_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material-q0815z\n-----END OPENSSH PRIVATE KEY-----",
	"TELEGRAM_BOT_TOKEN": "123456:secret-telegram-token-q0815z",
	"GITHUB_TOKEN":       "ghp_secretgithubtokenq0815z",
	"DATABASE_URL":       "postgres://app:secret-db-password-q0815z@127.0.0.1:5432/app",
	"GHCR_TOKEN":         "secret-ghcr-token-q0815z",
	"SMTP_PASSWORD":      "secret-smtp-password-q0815z",
}

func exampleEnv(config string) map[string]string {
	e := map[string]string{
		"DEPLOY_CONFIG":           config,
		"PRODUCTION_HOST":         "the-bot.ru",
		"TELEGRAM_PUBLIC_CHAT_ID": "-1001234567890",
		"GHCR_USER":               "ci-bot",
	}
	for k, v := range secrets {
		e[k] = v
	}
	return e
}

// targetEnv is the environment of a compiled target: this process's, with
// env over it. A run inside GitHub Actions does not reach the job's summary
// or annotations: GITHUB_STEP_SUMMARY and GITHUB_ACTIONS are cleared unless
// env sets them (the tests' deployments would add their summaries and
// ::error:: lines to the CI job's own).
func targetEnv(env map[string]string) []string {
	e := append(os.Environ(), "GITHUB_STEP_SUMMARY=", "GITHUB_ACTIONS=")
	for k, v := range env {
		e = append(e, k+"="+v)
	}
	return e
}

func assertNoSecrets(t *testing.T, out string) {
	t.Helper()
	for name, s := range secrets {
		if strings.Contains(out, s) || strings.Contains(out, "q0815z") { // the marker every secret carries (letters around it: a deployment ID holds HHMMSS digits)
			t.Errorf("%s leaked into the output", name)
		}
	}
}

// swap points the targets at a fake environment and captured output.
func swap(t *testing.T, env map[string]string) (out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	oldEnv, oldOut, oldErr := getenv, stdout, stderr
	getenv = func(k string) string { return env[k] }
	stdout, stderr = out, errOut
	t.Cleanup(func() { getenv, stdout, stderr = oldEnv, oldOut, oldErr })
	return out, errOut
}

func TestConfigCheckInProcess(t *testing.T) {
	out, errOut := swap(t, exampleEnv("../../examples/deploy.yml"))
	if err := (Config{}).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "# ../../examples/deploy.yml is valid: app the-bot, environments production, staging\n") ||
		!strings.Contains(s, "address: the-bot.ru") || !strings.Contains(s, "token: '***'") {
		t.Errorf("output:\n%s", s)
	}
	assertNoSecrets(t, s+errOut.String())
}

func TestFail(t *testing.T) {
	_, errOut := swap(t, nil)
	if fail(nil) != nil {
		t.Error("fail(nil) != nil")
	}
	err := fail(errors.New("connect to host: refused"))
	if mg.ExitStatus(err) != 1 || err.Error() != "connect to host: refused" {
		t.Errorf("single line: %v (exit %d)", err, mg.ExitStatus(err))
	}
	if err := fail(mg.Fatal(3, "locked")); mg.ExitStatus(err) != 3 {
		t.Errorf("exit status not kept: %d", mg.ExitStatus(err))
	}
	// Wrapped by deploy.RedactError (as withEngine does), the code must be
	// on the error itself: mage's main asserts ExitStatus without
	// unwrapping. Before, `exec` exiting 3 and a rolled-back deployment
	// (2) exited 1.
	err = fail(deploy.RedactError(mg.Fatal(2, "rolled back on secret-host"), func(s string) string { return strings.ReplaceAll(s, "secret-host", "***") }))
	if c, ok := err.(interface{ ExitStatus() int }); !ok || c.ExitStatus() != 2 || err.Error() != "rolled back on ***" {
		t.Errorf("wrapped exit status: %T %q", err, err)
	}
	_, lerr := deploy.Load("../../deploy/testdata/config/many-problems.yml", func(string) string { return "" })
	err = fail(lerr)
	if mg.ExitStatus(err) != 1 || !strings.HasSuffix(err.Error(), "is invalid: 19 problem(s), listed above") || strings.Contains(err.Error(), "\n") {
		t.Errorf("validation error: %q", err)
	}
	if !strings.Contains(errOut.String(), "environments.production.proxy.kind: unknown proxy \"traefik\"") {
		t.Errorf("problems not written to stderr:\n%s", errOut)
	}
}

// run runs argv from the repository root with env added to this process's
// environment and returns its outputs and exit code.
func run(t *testing.T, env map[string]string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Env = targetEnv(env)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", argv, err)
	}
	return o.String(), e.String(), code
}

// TestMageFrontend runs the real `go tool mage` and checks the help lines,
// exit codes and outputs a person sees.
func TestMageFrontend(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the magefile; skipped with -short")
	}
	out, errOut, code := run(t, nil, "go", "tool", "mage", "-l")
	if code != 0 {
		t.Fatalf("go tool mage -l exited %d: %s", code, errOut)
	}
	// The other runs use the same frontend compiled once (what `go tool
	// mage <target>` runs; exit codes are kept), to keep the test fast.
	bin := filepath.Join(t.TempDir(), "mage-blueshift")
	if _, errOut, code := run(t, nil, "go", "tool", "mage", "-compile", bin); code != 0 {
		t.Fatalf("go tool mage -compile exited %d: %s", code, errOut)
	}
	mage := func(t *testing.T, env map[string]string, args ...string) (string, string, int) {
		t.Helper()
		return run(t, env, append([]string{bin}, args...)...)
	}
	for _, re := range []string{
		`config:check\s+validates deploy.yml \(\$DEPLOY_CONFIG\) and prints it resolved, secrets masked.\n`,
		`version:next\s+prints the version a deployment given none would get now \(vYYYY.MMDD.HHMMSS, UTC\).\n`,
		`version:check\s+validates VERSION as a release version \(semver with a v prefix, like v1.0.1\).\n`,
		// This repository's own targets (magefiles/devtargets), which .ci/run
		// and the README use under these names.
		`\n  test\s+runs every test`, `\n  demo\s+runs a zero-downtime`, `\n  demo:down\s+stops the demo`, `\n  bench\s+measures zero downtime`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("mage -l lacks %s:\n%s", re, out)
		}
	}

	testOperations(t, out, mage)
	t.Run("logs and exec", func(t *testing.T) { testLogsExec(t, bin, mage) })
	t.Run("init", func(t *testing.T) { testInit(t, mage) })

	t.Run("config:check valid", func(t *testing.T) {
		out, errOut, code := mage(t, exampleEnv("examples/deploy.yml"), "config:check")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "# examples/deploy.yml is valid") || !strings.Contains(out, "ssh_key: '***'") {
			t.Errorf("stdout:\n%s", out)
		}
		assertNoSecrets(t, out+errOut)
	})

	t.Run("config:check invalid", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "deploy.yml")
		yml := "app: demo\nenvironments:\n  production:\n    host: {address: local}\n    path: /opt/demo\n" +
			"    services: {stateless: [web]}\n    ports: {web: {container: 80, blue: 8001, green: 8002}}\n" +
			"    health: {backend: {interval: 10x}}\n    notify: {telegram: {token: '${TELEGRAM_BOT_TOKEN}'}}\n"
		if err := os.WriteFile(bad, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := mage(t, exampleEnv(bad), "config:check")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if !strings.Contains(errOut, `environments.production.health.backend.interval: invalid duration "10x"`) ||
			!strings.Contains(errOut, "Error: configuration "+bad+" is invalid: 1 problem(s), listed above") {
			t.Errorf("stderr:\n%s", errOut)
		}
		assertNoSecrets(t, out+errOut)
	})

	t.Run("config:check missing file", func(t *testing.T) {
		_, errOut, code := mage(t, map[string]string{"DEPLOY_CONFIG": filepath.Join(t.TempDir(), "nope.yml")}, "config:check")
		if code != 1 || !strings.Contains(errOut, "does not exist") {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})

	t.Run("test stops when a component is missing", func(t *testing.T) {
		// Not in CI and without -setup, a missing component stops the
		// README's test command at once, naming the one command to run
		// (before, its tests skipped and the run reported success).
		env := map[string]string{"CI": "", "BLUESHIFT_CADDY": filepath.Join(t.TempDir(), "caddy")}
		out, errOut, code := mage(t, env, "test")
		if code != 1 || !strings.Contains(errOut, "the tests need caddy, missing here: run `sudo bash .ci/setup`") || strings.Contains(out, "ok  \t") {
			t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
		}
	})

	t.Run("version:next", func(t *testing.T) {
		out, errOut, code := mage(t, nil, "version:next")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if _, err := bsversion.Parse(strings.TrimSpace(out)); err != nil {
			t.Errorf("version:next printed %q: %v", out, err)
		}
	})

	t.Run("version:check", func(t *testing.T) {
		if out, _, code := mage(t, nil, "version:check", "v1.0.1-hotfix-1"); code != 0 || out != "v1.0.1-hotfix-1\n" {
			t.Errorf("valid version: exit %d, out %q", code, out)
		}
		_, errOut, code := mage(t, nil, "version:check", "v01.0.0")
		if code != 1 || !strings.Contains(errOut, `version "v01.0.0": major version has a leading zero`) {
			t.Errorf("invalid version: exit %d, stderr %q", code, errOut)
		}
	})
}

// TestRollbackTarget: -to wins, $ROLLBACK_TO is the fallback (copies of
// rollback.yml made before it passed -to set only the variable; on 239a55e
// an operator asking for v1.0.0 there got the previous release), and the
// two disagreeing is refused.
func TestRollbackTarget(t *testing.T) {
	v := func(s string) *string { return &s }
	for _, c := range []struct {
		name    string
		to      *string
		env     string
		want    string
		wantErr string
	}{
		{"neither: the previous release", nil, "", "", ""},
		{"-to only", v("v1.0.0"), "", "v1.0.0", ""},
		{"ROLLBACK_TO only", nil, "v1.0.0", "v1.0.0", ""},
		{"both, the same", v("v1.0.0"), "v1.0.0", "v1.0.0", ""},
		{"both, different", v("v1.0.0"), "v1.0.1", "", "-to=v1.0.0 and ROLLBACK_TO=v1.0.1 name different versions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := rollbackTarget(c.to, c.env)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("rollbackTarget = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestChooseEnv: -env wins over $BLUESHIFT_ENV; with neither, the only
// environment is taken, and several are an error naming them (before,
// every target fell back to production silently).
func TestChooseEnv(t *testing.T) {
	one := &deploy.Config{File: "one.yml", Environments: map[string]*deploy.Environment{"production": {Name: "production"}}}
	two := &deploy.Config{File: "two.yml", Environments: map[string]*deploy.Environment{
		"production": {Name: "production"}, "staging": {Name: "staging"}}}
	flag := func(s string) *string { return &s }
	for _, c := range []struct {
		name      string
		cfg       *deploy.Config
		flag      *string
		envVar    string
		want, err string
	}{
		{"only environment", one, nil, "", "production", ""},
		{"several, none named", two, nil, "", "", "which environment? pass -env=NAME or set BLUESHIFT_ENV; two.yml defines production, staging"},
		{"BLUESHIFT_ENV", two, nil, "staging", "staging", ""},
		{"-env", two, flag("staging"), "", "staging", ""},
		{"-env over BLUESHIFT_ENV", two, flag("staging"), "production", "staging", ""},
		{"empty -env: BLUESHIFT_ENV", two, flag(""), "staging", "staging", ""},
		{"unknown", one, flag("prod"), "", "", `unknown environment "prod": known environments are production`},
	} {
		t.Run(c.name, func(t *testing.T) {
			swap(t, map[string]string{"BLUESHIFT_ENV": c.envVar})
			e, err := chooseEnv(c.cfg, envName(c.flag))
			switch {
			case c.err != "" && (err == nil || err.Error() != c.err):
				t.Errorf("err = %v, want %q", err, c.err)
			case c.err == "" && (err != nil || e.Name != c.want):
				t.Errorf("chooseEnv = %v, %v; want %s", e, err, c.want)
			}
		})
	}
}
