package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func testApp(t *testing.T, kv map[string]string) (*app, string) {
	t.Helper()
	if kv == nil {
		kv = map[string]string{}
	}
	dir := t.TempDir()
	kv["MEDIA_DIR"] = dir
	cfg, err := configFromEnv(env(kv))
	if err != nil {
		t.Fatal(err)
	}
	return newApp(cfg, time.Now()), dir
}

func do(t *testing.T, h http.Handler, method, path string, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestEndpoints(t *testing.T) {
	a, _ := testApp(t, map[string]string{"APP_VERSION": "v1.2.3", "BLUESHIFT_COLOUR": "green"})
	for _, c := range []struct {
		path     string
		status   int
		contains string
	}{
		{"/", 200, "Served by the <b>green</b> colour"},
		{"/api/health/", 200, `"status":"ok"`},
		{"/api/system/readiness/", 200, `"ready":true`},
		{"/api/v1/auth/status/", 200, `"authenticated":false`},
		{"/admin/", 302, ""},
		{"/admin/login/", 200, "password"},
		{"/api/version", 200, `"version":"v1.2.3"`},
		{"/api/slow/?ms=10", 200, `"slept_ms":10`},
		{"/nope", 404, ""},
	} {
		w := do(t, a, "GET", c.path, "")
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("GET %s = %d %q; want %d containing %q", c.path, w.Code, w.Body.String(), c.status, c.contains)
		}
		if w.Header().Get("X-Blueshift-Colour") != "green" || w.Header().Get("X-App-Version") != "v1.2.3" {
			t.Errorf("GET %s headers %v: want colour and version", c.path, w.Header())
		}
	}
	if loc := do(t, a, "GET", "/admin/", "").Header().Get("Location"); loc != "/admin/login/" {
		t.Errorf("/admin/ redirects to %q", loc)
	}
	if w := do(t, a, "GET", "/api/v1/auth/status/", "", "Authorization", "Bearer x"); !strings.Contains(w.Body.String(), `"authenticated":true`) {
		t.Errorf("auth status with a token: %s", w.Body)
	}
	var v map[string]any
	if err := json.Unmarshal(do(t, a, "GET", "/api/version", "").Body.Bytes(), &v); err != nil || v["colour"] != "green" {
		t.Errorf("/api/version = %v, %v", v, err)
	}
}

func TestFailureSwitches(t *testing.T) {
	a, _ := testApp(t, map[string]string{"FAIL_HEALTH": "1"})
	if w := do(t, a, "GET", "/api/health/", ""); w.Code != 500 {
		t.Errorf("FAIL_HEALTH: health = %d", w.Code)
	}
	if w := do(t, a, "GET", "/", ""); w.Code != 200 {
		t.Errorf("FAIL_HEALTH: / = %d, want only health failing", w.Code)
	}

	a, _ = testApp(t, map[string]string{"FAIL_ENDPOINT": "/admin/"})
	if w := do(t, a, "GET", "/admin/", ""); w.Code != 500 {
		t.Errorf("FAIL_ENDPOINT: /admin/ = %d", w.Code)
	}
	if w := do(t, a, "GET", "/api/health/", ""); w.Code != 200 {
		t.Errorf("FAIL_ENDPOINT: health = %d", w.Code)
	}

	a, _ = testApp(t, map[string]string{"FAIL_AFTER": "10s"})
	now := a.started
	a.now = func() time.Time { return now }
	if w := do(t, a, "GET", "/api/health/", ""); w.Code != 200 {
		t.Errorf("FAIL_AFTER before the time: %d", w.Code)
	}
	now = now.Add(10 * time.Second)
	for _, p := range []string{"/api/health/", "/", "/api/version"} {
		if w := do(t, a, "GET", p, ""); w.Code != 500 || !strings.Contains(w.Body.String(), "FAIL_AFTER") {
			t.Errorf("FAIL_AFTER after the time: %s = %d %s", p, w.Code, w.Body)
		}
	}

	if _, err := configFromEnv(env(map[string]string{"START_DELAY": "soon"})); err == nil || !strings.Contains(err.Error(), "START_DELAY") {
		t.Errorf("bad START_DELAY: %v", err)
	}
}

func TestMediaSharedBetweenInstances(t *testing.T) {
	blue, dir := testApp(t, map[string]string{"BLUESHIFT_COLOUR": "blue"})
	green := newApp(config{Colour: "green", MediaDir: dir}, time.Now())
	if w := do(t, blue, "PUT", "/media/avatar.png", "pixels"); w.Code != 201 {
		t.Fatalf("PUT = %d %s", w.Code, w.Body)
	}
	if w := do(t, green, "GET", "/media/avatar.png", ""); w.Code != 200 || w.Body.String() != "pixels" {
		t.Fatalf("GET through green = %d %q", w.Code, w.Body)
	}
	if w := do(t, green, "GET", "/media/missing", ""); w.Code != 404 {
		t.Errorf("missing file = %d", w.Code)
	}
	if w := do(t, green, "PUT", "/media/.hidden", "x"); w.Code != 400 {
		t.Errorf("PUT /media/.hidden = %d, want 400", w.Code)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".upload-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary uploads left: %v", leftovers)
	}
}

func TestMigrateAndCommands(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	ctx := context.Background()
	if code := run(ctx, []string{"migrate"}, env(map[string]string{"MEDIA_DIR": dir, "APP_VERSION": "v2"}), &out, &errb); code != 0 {
		t.Fatalf("migrate exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".migrated-v2")); err != nil {
		t.Errorf("migrate marker: %v", err)
	}
	if code := run(ctx, []string{"migrate"}, env(map[string]string{"MEDIA_DIR": dir, "FAIL_MIGRATE": "1"}), &out, &errb); code != 1 {
		t.Errorf("FAIL_MIGRATE: exit %d", code)
	}
	if code := run(ctx, []string{"frobnicate"}, env(nil), &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestServeHealthcheckStartDelayAndGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- serve(ctx, config{Port: "0", Version: "v1", Colour: "blue", MediaDir: t.TempDir(), StartDelay: 300 * time.Millisecond}, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not listen within 10s")
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("listened after %s, want START_DELAY=300ms", waited)
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	var errb bytes.Buffer
	if code := run(ctx, []string{"healthcheck"}, env(map[string]string{"PORT": port}), io.Discard, &errb); code != 0 {
		t.Fatalf("healthcheck exit %d: %s", code, errb.String())
	}

	// A request in flight when the signal arrives still completes.
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://127.0.0.1:" + port + "/api/slow/?ms=500")
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{status: resp.StatusCode}
	}()
	time.Sleep(150 * time.Millisecond)
	cancel()
	r := <-res
	if r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request during shutdown: %d %v", r.status, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if code := run(context.Background(), []string{"healthcheck"}, env(map[string]string{"PORT": port}), io.Discard, io.Discard); code != 1 {
		t.Errorf("healthcheck against a stopped server: exit %d, want 1", code)
	}
}

func TestBreakMakesTheServerFail(t *testing.T) {
	BrokenFile = filepath.Join(t.TempDir(), "broken")
	a, _ := testApp(t, nil)
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"break", "/api/health/"}, env(nil), &out, &errb); code != 0 {
		t.Fatalf("break: exit %d: %s", code, errb.String())
	}
	if w := do(t, a, "GET", "/api/health/", ""); w.Code != 500 {
		t.Errorf("broken path: %d", w.Code)
	}
	if w := do(t, a, "GET", "/", ""); w.Code != 200 {
		t.Errorf("other path after break of one path: %d", w.Code)
	}
	if code := run(context.Background(), []string{"break"}, env(nil), &out, &errb); code != 0 {
		t.Fatalf("break all: exit %d", code)
	}
	if w := do(t, a, "GET", "/", ""); w.Code != 500 {
		t.Errorf("every path after break: %d", w.Code)
	}
}
