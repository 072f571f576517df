package demo

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

func TestDefaultDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{DirEnv: "/x/demo", "XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/x/demo"},
		{map[string]string{"XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/c/blueshift-demo"},
		{map[string]string{"HOME": "/h"}, "/h/.cache/blueshift-demo"},
	} {
		got, err := DefaultDir(env(c.env))
		if err != nil || got != c.want {
			t.Errorf("DefaultDir(%v) = %q, %v; want %q", c.env, got, err, c.want)
		}
	}
}

// The workspace's deploy.yml is valid and says what the brief of the demo
// says: caddy on the admin address, route id matching the proxy's, media
// backup only, the default smoke endpoints.
func TestWorkspaceConfig(t *testing.T) {
	dir := t.TempDir()
	ws, err := Open(Options{Dir: dir, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	c, d, err := ws.Files()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ws.ComposeFile, c, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ws.ConfigFile, d, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := deploy.Load(ws.ConfigFile, ws.getenv)
	if err != nil {
		t.Fatalf("%v\n%s", err, d)
	}
	env, err := cfg.Env(Environment)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]any{
		"app":               {cfg.App, DefaultApp},
		"host":              {env.Host.Address, "local"},
		"path":              {env.Path, filepath.Join(dir, "app")},
		"proxy.kind":        {env.Proxy.Kind, "caddy"},
		"proxy.caddy.admin": {env.Proxy.Caddy.Admin, DefaultAdminAddr},
		"route_id":          {env.Proxy.Caddy.RouteID, ws.route().Name},
		"proxy.caddy.dir":   {env.Proxy.Caddy.Dir, filepath.Join(dir, caddyColours)},
		"ports.web.blue":    {env.Ports["web"].Blue, DefaultBluePort},
		"ports.web.green":   {env.Ports["web"].Green, DefaultGreenPort},
		"public_url":        {env.PublicURL, "http://" + DefaultProxyAddr},
		"health attempts":   {env.Health.Backend.Attempts, 30},
		"health interval":   {env.Health.Backend.Interval, time.Second},
		"frontend":          {env.Health.Frontend.Enabled(), false},
		"smoke":             {len(env.Smoke.Endpoints), len(deploy.DefaultSmokeEndpoints())},
		"monitor window":    {env.Monitor.Window, DefaultMonitor},
		"monitor errors":    {env.Monitor.MaxErrors, 3},
		"drain":             {env.Timeouts.Drain, 2 * time.Second},
		"media volume":      {env.Backup.Media.Volume, "media"},
		"postgres backup":   {env.Backup.Postgres.Enabled(), false},
		"telegram":          {env.Notify.Telegram.Enabled(), false},
		"migrate":           {strings.Join(env.Hooks.Migrate, " "), "/demoapp migrate"},
	}
	for name, c := range checks {
		if fmt.Sprint(c[0]) != fmt.Sprint(c[1]) {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	// Preflight would refuse a demo whose phase bounds exceed its deadline.
	if err := env.Budget(false).Check(); err != nil {
		t.Error(err)
	}
	if !strings.Contains(string(c), "image: "+DefaultImage+":"+FirstVersion) {
		t.Errorf("compose file does not use %s:%s:\n%s", DefaultImage, FirstVersion, c)
	}
}

// The demo hides notification credentials from its deployments.
func TestWorkspaceHidesCredentials(t *testing.T) {
	ws, err := Open(Options{Dir: t.TempDir(), Getenv: func(k string) string { return "set:" + k }})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"TELEGRAM_BOT_TOKEN", "GITHUB_TOKEN", "PRODUCTION_SSH_KEY", "BLUESHIFT_TELEGRAM_API"} {
		if v := ws.getenv(k); v != "" {
			t.Errorf("getenv(%s) = %q, want hidden", k, v)
		}
	}
	if v := ws.getenv("USER"); v != "set:USER" {
		t.Errorf("getenv(USER) = %q", v)
	}
}

func TestDownCmds(t *testing.T) {
	ws, err := Open(Options{Dir: "/w", App: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	cli := compose.CLI{Binary: []string{"docker", "compose"}, Dir: "/w"}
	var got []string
	for _, c := range DownCmds(cli, ws) {
		got = append(got, strings.Join(c.Argv, " "))
	}
	want := []string{
		"docker compose --project-name shop-blue down --remove-orphans --volumes",
		"docker compose --project-name shop-green down --remove-orphans --volumes",
		"docker compose --project-name shop down --remove-orphans --volumes",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("DownCmds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freePort(t *testing.T) int {
	_, p, _ := net.SplitHostPort(freeAddr(t))
	var n int
	fmt.Sscan(p, &n)
	return n
}

// The whole demo on the real engine: images, Caddy on an inherited socket,
// v1.0.0 then v1.0.1 under load with no failed request, v1.0.1 live from
// green, a rollback to v1.0.0, and Down leaving nothing behind.
func TestDemo(t *testing.T) {
	local := host.NewLocal()
	docker, err := host.NewDockerClient(local, "")
	if err == nil {
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = docker.Ping(pctx)
		cancel()
	}
	hosttest.Require(t, "Docker Engine", err)
	defer docker.Close()
	_, _, err = compose.DetectCLI(context.Background(), local)
	hosttest.Require(t, "docker compose", err)
	caddy := os.Getenv("BLUESHIFT_CADDY")
	if caddy == "" {
		caddy, err = caddyPath(context.Background()) // not installed here: that takes minutes
	}
	if err == nil {
		_, err = os.Stat(caddy)
	}
	hosttest.Require(t, "caddy (go install "+CaddyModule+"@"+CaddyVersion+")", err)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000_000)
	o := Options{
		Dir:       filepath.Join(t.TempDir(), "ws"),
		App:       "bsdemo-" + suffix,
		Image:     "blueshift-demo-test/web-" + suffix,
		ProxyAddr: freeAddr(t),
		AdminAddr: freeAddr(t),
		BluePort:  freePort(t),
		GreenPort: freePort(t),
		Monitor:   5 * time.Second,
		Caddy:     caddy,
		Progress:  func(s string) { t.Log(s) },
		AfterDeploy: func(d *deploy.Deployment, err error) {
			t.Logf("%s %s: %s in %s (err %v)", d.ID, d.Version, d.Outcome, d.Report.Finished.Sub(d.Report.Started).Round(time.Millisecond), err)
			for _, p := range d.Report.Phases {
				t.Logf("  %-18s %-8s %6s %s", p.Name, p.Outcome, p.Duration.Round(time.Millisecond), p.Err)
			}
			if d.Logs != "" {
				t.Logf("logs:\n%s", d.Logs)
			}
			for _, p := range d.Report.Phases {
				if p.Outcome != deploy.PhaseOK && p.Outcome != deploy.PhaseSkipped {
					t.Errorf("%s %s: phase %s %s: %s", d.ID, d.Version, p.Name, p.Outcome, p.Err)
				}
			}
		},
	}
	downed := false
	t.Cleanup(func() {
		if !downed {
			if _, err := Down(context.Background(), o); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		for _, v := range []string{FirstVersion, SecondVersion} {
			_, _ = docker.ImageRemove(context.Background(), o.Image+":"+v, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})

	start := time.Now()
	ws, err := Setup(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup in %s", time.Since(start).Round(time.Millisecond))
	ps, err := StartProxy(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if ps.AlreadyRunning || ps.Colour != "blue" {
		t.Errorf("StartProxy = %+v, want a fresh Caddy pointing at blue", ps)
	}
	// Idempotent: a second start finds it.
	if ps2, err := StartProxy(ctx, ws); err != nil || !ps2.AlreadyRunning || ps2.PID != ps.PID {
		t.Errorf("second StartProxy = %+v, %v; want the running Caddy (pid %d)", ps2, err, ps.PID)
	}

	start = time.Now()
	res, err := Run(ctx, ws)
	if res != nil {
		t.Logf("load: %s", res.Load)
		t.Logf("LoadLine: %s", res.LoadLine())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("both deployments in %s", time.Since(start).Round(time.Millisecond))
	if res.First == nil || res.First.Outcome != deploy.OutcomeSucceeded || res.Second.Outcome != deploy.OutcomeSucceeded {
		t.Fatalf("outcomes: first %v, second %v", res.First, res.Second.Outcome)
	}
	if res.Load.Failed != 0 || res.Load.Sent < 100 {
		t.Errorf("load: %d sent, %d failed: want >= 100 sent and none failed", res.Load.Sent, res.Load.Failed)
	}
	if line := res.LoadLine(); !strings.Contains(line, " 0 failed") || !strings.Contains(line, "green ") {
		t.Errorf("LoadLine() = %q", line)
	}
	if rate := res.Load.AchievedRate(); rate < 100 {
		t.Errorf("load rate %.0f/s, want >= 100", rate)
	}
	v, err := Version(ctx, ws.PublicURL())
	if err != nil || v.Version != SecondVersion || v.Colour != "green" {
		t.Fatalf("through Caddy: %+v, %v; want %s from green", v, err, SecondVersion)
	}

	// Caddy restarted after a deployment points at the live colour.
	if stopped, err := ws.stopProxy(ctx); err != nil || !stopped {
		t.Fatalf("stopProxy = %v, %v", stopped, err)
	}
	if ps, err = StartProxy(ctx, ws); err != nil || ps.Colour != "green" {
		t.Fatalf("StartProxy after the deployments = %+v, %v; want green", ps, err)
	}
	if v, err := Version(ctx, ws.PublicURL()); err != nil || v.Version != SecondVersion {
		t.Fatalf("through the restarted Caddy: %+v, %v; want %s", v, err, SecondVersion)
	}

	rb, err := Rollback(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Outcome != deploy.OutcomeSucceeded {
		t.Errorf("rollback outcome %s", rb.Outcome)
	}
	v, err = Version(ctx, ws.PublicURL())
	if err != nil || v.Version != FirstVersion || v.Colour != "blue" {
		t.Fatalf("after the rollback: %+v, %v; want %s from blue", v, err, FirstVersion)
	}

	rep, err := Down(ctx, o)
	downed = true
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ProxyStopped || rep.Containers != 2 || rep.Volumes == 0 {
		t.Errorf("Down = %+v: want Caddy stopped, both colours' containers and the media volume removed", rep)
	}
	f := filters.NewArgs(filters.Arg("label", compose.LabelApp+"="+o.App))
	if cs, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f}); err != nil || len(cs) != 0 {
		t.Errorf("containers left after Down: %d, %v", len(cs), err)
	}
	if vs, err := docker.VolumeList(ctx, volume.ListOptions{Filters: f}); err != nil || len(vs.Volumes) != 0 {
		t.Errorf("volumes left after Down: %v, %v", vs.Volumes, err)
	}
	if adminAnswers(ctx, o.AdminAddr) {
		t.Errorf("caddy's admin API still answers after Down")
	}
	if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
		t.Errorf("workspace %s still exists after Down (%v)", o.Dir, err)
	}
	// Idempotent.
	if rep, err := Down(ctx, o); err != nil || rep.ProxyStopped || rep.Containers+rep.Volumes+rep.Networks != 0 {
		t.Errorf("second Down = %+v, %v; want nothing to do", rep, err)
	}
}
