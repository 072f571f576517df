package traffic

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

func TestNewCaddyRejectsBadConfig(t *testing.T) {
	r, local := newFakeHost(), host.NewLocal()
	for _, c := range []struct {
		cfg  CaddyConfig
		want string
	}{
		{CaddyConfig{Routes: twoColours, Runner: r}, "caddy: dialer: required"},
		{CaddyConfig{Routes: twoColours, Dialer: local}, "caddy: runner: required"},
		{CaddyConfig{Routes: twoColours, Dialer: local, Runner: r, Admin: "nope"}, "caddy: admin"},
		{CaddyConfig{Routes: twoColours, Dialer: local, Runner: r, Dir: "rel"}, "caddy: dir: \"rel\": want an absolute path"},
		{CaddyConfig{Routes: twoColours, Dialer: local, Runner: r, Dir: "/etc/{env.X}"}, "caddy: dir"},
	} {
		if _, err := NewCaddy(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewCaddy(%+v) = %v; want %q", c.cfg, err, c.want)
		}
	}
}

// fakeCaddyAdmin answers GET /id/<route> with the handler CaddyRouteHandler
// gives for dir, as a Caddy loaded with it would; it fails the test on any
// other method (a switch must never change Caddy's configuration).
func fakeCaddyAdmin(t *testing.T, dir string, routes []Route) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet {
			t.Errorf("admin API: %s %s: the switcher must only read", req.Method, req.URL.Path)
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		for _, r := range routes {
			if req.URL.Path == "/id/"+r.Name {
				json.NewEncoder(w).Encode(caddyRouteHandler(r, dir, ProxyColourHeader))
				return
			}
		}
		http.Error(w, `{"error":"unknown object ID"}`, http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// The colour files a switch leaves, and the order it changes them in:
// the next colour's file first, then the earlier colours' removed, never a
// later colour's; a failure part-way restores every route's files.
func TestCaddySwitchRenamesColourFilesAndUndoesPartWay(t *testing.T) {
	ctx := context.Background()
	routes := []Route{
		{Name: "app_backend", Upstreams: Upstreams{Blue: {"127.0.0.1:8001"}, Green: {"127.0.0.1:8002"}}},
		{Name: "app_frontend", Upstreams: Upstreams{Blue: {"127.0.0.1:3001"}, Green: {"127.0.0.1:3002"}}},
	}
	fake := newFakeHost()
	sw, err := NewCaddy(CaddyConfig{Admin: fakeCaddyAdmin(t, "/srv/caddy", routes), Dir: "/srv/caddy", Routes: routes, Runner: fake, Dialer: host.NewLocal()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	is(t, func() error { _, err := sw.Live(ctx); return err }(), ErrNoLiveColour)
	files := func() []string {
		var out []string
		for f := range fake.files {
			out = append(out, f)
		}
		slices.Sort(out)
		return out
	}
	live := func(want string) {
		t.Helper()
		if got, err := sw.Live(ctx); err != nil || got != want {
			t.Fatalf("Live = %q, %v; want %s (files %v)", got, err, want, files())
		}
	}
	if err := sw.Switch(ctx, Blue); err != nil {
		t.Fatal(err)
	}
	live(Blue)
	if err := sw.Switch(ctx, Green); err != nil {
		t.Fatal(err)
	}
	live(Green)
	want := []string{"/srv/caddy/app_backend/green", "/srv/caddy/app_frontend/green"}
	if got := files(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after switching to green: files %v; want %v", got, want)
	}
	if err := sw.Switch(ctx, Blue); err != nil {
		t.Fatal(err)
	}
	live(Blue)
	want = []string{"/srv/caddy/app_backend/blue", "/srv/caddy/app_backend/green", "/srv/caddy/app_frontend/blue", "/srv/caddy/app_frontend/green"}
	if got := files(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after switching back to blue: files %v; want %v (green's kept: a request missing blue's finds it)", got, want)
	}

	// The second route's removal fails: the first route gets blue back.
	fake.fail["rm -f -- /srv/caddy/app_frontend/blue"] = "rm: Permission denied"
	err = sw.Switch(ctx, Green)
	if err == nil || !strings.Contains(err.Error(), "traffic is untouched") || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("Switch with a failing removal = %v", err)
	}
	live(Blue)
	if got := files(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a failed switch: files %v; want %v", got, want)
	}
}
