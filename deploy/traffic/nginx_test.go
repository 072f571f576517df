package traffic

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/health"
)

func TestNginxConformance(t *testing.T) {
	// Not parallel: the two load runs would compete for the cores.
	env := startNginx(t)
	testSwitcher(t, env.sw, env.url)
}

func TestNginxFailedCheckRestoresFileAndKeepsTraffic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := startNginx(t)
	before, err := os.ReadFile(env.sw.UpstreamFile())
	if err != nil {
		t.Fatal(err)
	}
	// Someone left a broken file in an included directory: `nginx -t` fails.
	broken := filepath.Join(env.dir, "conf.d", "broken.conf")
	if err := os.WriteFile(broken, []byte("server { listen 127.0.0.1:1; this_is_not_a_directive on; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = env.sw.Switch(ctx, Green)
	is(t, err, ErrConfigInvalid)
	mustContain(t, err.Error(), `unknown directive "this_is_not_a_directive"`)
	mustContain(t, err.Error(), "traffic is untouched")
	after, err := os.ReadFile(env.sw.UpstreamFile())
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("upstream file not restored:\n%s\nwant:\n%s", after, before)
	}
	if live, err := env.sw.Live(ctx); err != nil || live != Blue {
		t.Fatalf("Live = %q, %v after a failed switch; want blue", live, err)
	}
	is(t, env.sw.Validate(ctx), ErrConfigInvalid)
	if err := VerifyPublic(ctx, env.url, Blue, VerifyOptions{Interval: 20 * time.Millisecond, Consecutive: 5}); err != nil {
		t.Fatal(err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(env.sw.UpstreamFile()), ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// With the broken file gone the same switch goes through.
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	if err := env.sw.Switch(ctx, Green); err != nil {
		t.Fatal(err)
	}
	if err := VerifyPublic(ctx, env.url, Green, VerifyOptions{Interval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
}

// TestNginxVerifyReadsTheLoadedColour: the colour server in blueshift's
// own file answers what nginx has loaded, so a switch is proved without the
// application's help. Before it, the switch waited for an
// X-Blueshift-Colour header from the application, and every deployment of
// an application that does not send it (thebot) rolled back after 30 s.
func TestNginxVerifyReadsTheLoadedColour(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := startNginx(t)
	fast := health.Policy{Attempts: 20, Interval: 20 * time.Millisecond, AttemptTimeout: time.Second, Timeout: 2 * time.Second, SuccessesInRow: 3}
	if err := env.sw.Verify(ctx, Blue, fast); err != nil {
		t.Fatal(err)
	}
	err := env.sw.Verify(ctx, Green, fast)
	is(t, err, ErrWrongColour)
	mustContain(t, err.Error(), `JSON colour is "blue", want "green"`)

	// A file written but not loaded (no reload) is not what nginx serves.
	b, err := env.sw.Render(Green)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env.sw.UpstreamFile(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	is(t, env.sw.Verify(ctx, Green, fast), ErrWrongColour)
	if err := env.sw.Switch(ctx, Green); err != nil {
		t.Fatal(err)
	}
	if err := env.sw.Verify(ctx, Green, health.Policy{}); err != nil {
		t.Fatal(err)
	}
}

func TestNginxUnresolvableUpstreamIsRejected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := startNginx(t)
	routes := []Route{{Name: "demo_backend", Upstreams: Upstreams{
		Blue:  env.routes[0].Upstreams[Blue],
		Green: {"no-such-host.invalid:8000"},
	}}}
	sw, err := NewNginx(NginxConfig{App: "demo", Routes: routes, UpstreamFile: env.sw.UpstreamFile(), Command: env.command, Runner: host.NewLocal()})
	if err != nil {
		t.Fatal(err)
	}
	err = sw.Switch(ctx, Green)
	is(t, err, ErrConfigInvalid)
	mustContain(t, err.Error(), "host not found in upstream")
	if err := VerifyPublic(ctx, env.url, Blue, VerifyOptions{Interval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
}

func TestNginxValidateAndFirstDeployment(t *testing.T) {
	t.Parallel()
	requireNginx(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, d := range []string{"tmp", "conf.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A configuration that does not include the upstream file.
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(nginxConf(dir, freePort(t), dir+"/conf.d/*.conf", `"x"`), "http://demo_backend", "http://127.0.0.1:9", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	sw, err := NewNginx(NginxConfig{
		App:          "demo",
		Routes:       []Route{{Name: "demo_backend", Upstreams: Upstreams{Blue: {"127.0.0.1:8001"}, Green: {"127.0.0.1:8002"}}}},
		UpstreamFile: filepath.Join(dir, "blueshift", "demo-upstream.conf"),
		Command:      []string{nginxBin, "-p", dir + "/", "-c", conf, "-e", filepath.Join(dir, "error.log")},
		Runner:       host.NewLocal(),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sw.Live(ctx)
	is(t, err, ErrNoLiveColour)
	if err := sw.Validate(ctx); err != nil {
		t.Fatalf("Validate before the first switch (no upstream file yet): %v", err)
	}
	data, _ := sw.Render(Blue)
	if err := os.MkdirAll(filepath.Dir(sw.UpstreamFile()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sw.UpstreamFile(), data, 0o644); err != nil {
		t.Fatal(err)
	}
	err = sw.Validate(ctx)
	is(t, err, ErrNotWired)
	mustContain(t, err.Error(), "include "+sw.UpstreamFile()+";")
}
