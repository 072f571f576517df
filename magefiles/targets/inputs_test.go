package targets

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
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
			"deploy:plan":       func() error { return (Deploy{}).Plan(context.Background(), tc.version) },
			"compose:render":    func() error { return (Compose{}).Render(context.Background(), "blue", tc.version) },
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
