package traffic

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/health"
)

// Caddy listening on an inherited socket. A switch renames a colour file
// and never changes Caddy's configuration, so the suite allows no failed
// request at all (the admin-API switch of 239a55e reloaded Caddy and was
// allowed one dropped connection per switch). On a starved machine
// requests already routed may still be answered by the old colour for a
// while after a verified switch: allowed for max(1s, 2×p99) after it, never
// later, and not at all when the machine keeps up.
func TestCaddyConformance(t *testing.T) {
	// Not parallel: the two load runs would compete for the cores.
	env := startCaddy(t, true)
	testSwitcher(t, env.sw, env.url)
}

func TestCaddyErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := startCaddy(t, false)
	local := host.NewLocal()

	// An @id that does not exist.
	missing, err := NewCaddy(CaddyConfig{Admin: env.admin, Dir: env.dir, Runner: local, Dialer: local, Routes: []Route{{Name: "nope", Upstreams: Upstreams{Blue: {"127.0.0.1:1"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	is(t, missing.Validate(ctx), ErrNotWired)

	// A route whose @id is missing after one that exists: the first route
	// is switched, then put back, and traffic stays blue.
	routes := []Route{env.sw.cfg.Routes[0], {Name: "missing", Upstreams: env.sw.cfg.Routes[0].Upstreams}}
	partial, err := NewCaddy(CaddyConfig{Admin: env.admin, Dir: env.dir, Runner: local, Dialer: local, Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	err = partial.Switch(ctx, Green)
	is(t, err, ErrNotWired)
	mustContain(t, err.Error(), "traffic is untouched")
	if live, err := env.sw.Live(ctx); err != nil || live != Blue {
		t.Fatalf("Live = %q, %v after a failed switch; want blue", live, err)
	}
	if err := VerifyPublic(ctx, env.url, Blue, VerifyOptions{Interval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// Verify reads Caddy's loaded route and the colour files, not a
	// header from the application.
	fast := health.Policy{Attempts: 5, Interval: 20 * time.Millisecond, AttemptTimeout: time.Second, Timeout: time.Second}
	if err := env.sw.Verify(ctx, Blue, fast); err != nil {
		t.Fatal(err)
	}
	err = env.sw.Verify(ctx, Green, fast)
	is(t, err, ErrWrongColour)
	mustContain(t, err.Error(), "routes go to blue")
	is(t, missing.Verify(ctx, Blue, fast), ErrNotWired)

	// A switcher whose directory is not the one Caddy reads, or whose
	// upstreams differ from Caddy's: not wired, and nothing is written.
	elsewhere := t.TempDir()
	wrongDir, _ := NewCaddy(CaddyConfig{Admin: env.admin, Dir: elsewhere, Runner: local, Dialer: local, Routes: env.sw.cfg.Routes})
	err = wrongDir.Switch(ctx, Green)
	is(t, err, ErrNotWired)
	mustContain(t, err.Error(), elsewhere)
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Fatalf("a refused switch wrote %v", entries)
	}
	moved := Route{Name: env.sw.cfg.Routes[0].Name, Upstreams: Upstreams{Blue: {"127.0.0.1:1"}, Green: env.sw.cfg.Routes[0].Upstreams[Green]}}
	wrongUps, _ := NewCaddy(CaddyConfig{Admin: env.admin, Dir: env.dir, Runner: local, Dialer: local, Routes: []Route{moved}})
	err = wrongUps.Validate(ctx)
	is(t, err, ErrNotWired)
	mustContain(t, err.Error(), "127.0.0.1:1")

	// No colour file (before the first switch): Caddy answers 503, Live
	// says nothing is live, and a switch creates the file.
	colourDir := CaddyColourDir(env.dir, env.sw.cfg.Routes[0].Name)
	if err := os.Remove(filepath.Join(colourDir, Blue)); err != nil {
		t.Fatal(err)
	}
	is(t, func() error { _, err := env.sw.Live(ctx); return err }(), ErrNoLiveColour)
	if resp, err := http.Get(env.url); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("without a colour file: %v %v; want 503", resp, err)
	} else {
		resp.Body.Close()
	}
	if err := env.sw.Switch(ctx, Green); err != nil {
		t.Fatal(err)
	}
	if live, err := env.sw.Live(ctx); err != nil || live != Green {
		t.Fatalf("Live = %q, %v; want green", live, err)
	}
	if err := VerifyPublic(ctx, env.url, Green, VerifyOptions{Interval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	// Nothing listening.
	down, _ := NewCaddy(CaddyConfig{Admin: "127.0.0.1:1", Dir: env.dir, Runner: local, Dialer: local, Routes: env.sw.cfg.Routes})
	if err := down.Validate(ctx); err == nil || !strings.Contains(err.Error(), "is Caddy running") {
		t.Fatalf("Validate with no Caddy = %v", err)
	}
}
