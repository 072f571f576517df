package targets

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/magefile/mage/mg"
)

// TestDeployRefusesVersionDockerCannotTag: on 239a55e `deploy:production
// v1.0.0+build.7` passed validation (valid semver), took the lock, sent the
// start notification and created the GitHub deployment record, and failed
// only when tagging the image ('+' is not allowed in a Docker tag). Now the
// target exits 1 at parse time, naming the tag rule, and nothing runs: the
// webhook receives nothing, the app directory stays empty, no report.
func TestDeployRefusesVersionDockerCannotTag(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	t.Cleanup(srv.Close)
	env, app := localConfig(t, 18461, 18462, "    notify: {webhook: {url: \""+srv.URL+"/hook\"}}\n")
	long := "v1.0.0-" + strings.Repeat("x", 122)
	for _, tc := range []struct {
		version, want string
	}{
		{"v1.0.0+build.7", `version "v1.0.0+build.7": build metadata "+build.7" is not allowed: the version is the image tag, and a Docker tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (no '+'); use v1.0.0, or v1.0.0-build.7 for a pre-release`},
		{long, "129 characters: the version is the image tag, and a Docker tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (at most 128 characters)"},
	} {
		out, errOut := swap(t, env)
		for name, target := range map[string]func() error{
			"deploy:production": func() error { return (Deploy{}).Production(context.Background(), tc.version) },
			"deploy:plan":       func() error { return (Deploy{}).Plan(context.Background(), tc.version, nil) },
			"compose:render":    func() error { return (Compose{}).Render(context.Background(), "blue", tc.version, nil) },
			"version:check":     func() error { return (Version{}).Check(tc.version) },
		} {
			err := target()
			if mg.ExitStatus(err) != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %s: exit %d, error %v\nwant %s", name, tc.version, mg.ExitStatus(err), err, tc.want)
			}
		}
		if out.Len() > 0 {
			t.Errorf("%s: something ran and printed:\n%s%s", tc.version, out, errOut)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the webhook received %d notification(s) for a version that cannot be deployed", n)
	}
	if entries, _ := os.ReadDir(app); len(entries) != 0 {
		t.Errorf("the app directory was touched: %v", entries)
	}
	if _, err := os.Stat(env["BLUESHIFT_REPORT"]); err == nil {
		t.Error("a report was written: the pipeline ran")
	}
}

// TestPlanAndRenderMaskHostEnvFileValues: on 239a55e `deploy:plan` and
// `compose:render` printed the rendered compose file with the values of
// the host's env file filled in (DATABASE_URL with the password in it,
// DJANGO_SECRET_KEY), straight into a terminal or a CI log. Now each is
// printed as the variable it came from, ${DB_PASSWORD}.
func TestPlanAndRenderMaskHostEnvFileValues(t *testing.T) {
	env, app := localConfig(t, 18463, 18464, "")
	dir := filepath.Dir(env["DEPLOY_CONFIG"])
	const password, key = "hunter2-db-pass-77", "django-secret-key-abcdef-77"
	compose, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	compose = append(compose, "    environment:\n      DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app\n      DJANGO_SECRET_KEY: ${SECRET_KEY}\n      WORKERS: ${WORKERS}\n"...)
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), compose, 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := "DB_PASSWORD=" + password + " # the database\nSECRET_KEY='" + key + "'\nWORKERS=3\n"
	if err := os.WriteFile(filepath.Join(app, ".env.production"), []byte(envFile), 0o600); err != nil {
		t.Fatal(err)
	}

	for name, target := range map[string]func() error{
		"deploy:plan":    func() error { return (Deploy{}).Plan(context.Background(), "v1.0.0", nil) },
		"compose:render": func() error { return (Compose{}).Render(context.Background(), "blue", "v1.0.0", nil) },
	} {
		out, errOut := swap(t, env)
		err := target() // deploy:plan fails preflight (no image): it prints the plan all the same
		s := out.String() + errOut.String()
		if !strings.Contains(s, "DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app") ||
			!strings.Contains(s, "DJANGO_SECRET_KEY: ${SECRET_KEY}") || !strings.Contains(s, "WORKERS: ${WORKERS}") {
			t.Errorf("%s (%v) does not show the variables:\n%s", name, err, s)
		}
		for _, secret := range []string{password, key, "hunter2", "abcdef"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s printed %q from the host's env file", name, secret)
			}
		}
	}
}
