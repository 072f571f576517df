package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// config is the app's environment.
type config struct {
	Port         string
	Version      string
	Colour       string
	MediaDir     string
	FailHealth   bool
	FailAfter    time.Duration
	StartDelay   time.Duration
	FailMigrate  bool
	FailEndpoint string
}

func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		Port:         getenv("PORT"),
		Version:      getenv("APP_VERSION"),
		Colour:       getenv("BLUESHIFT_COLOUR"),
		MediaDir:     getenv("MEDIA_DIR"),
		FailHealth:   getenv("FAIL_HEALTH") == "1",
		FailMigrate:  getenv("FAIL_MIGRATE") == "1",
		FailEndpoint: getenv("FAIL_ENDPOINT"),
	}
	if c.Port == "" {
		c.Port = "8000"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.MediaDir == "" {
		c.MediaDir = "/media"
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"FAIL_AFTER", &c.FailAfter}, {"START_DELAY", &c.StartDelay}} {
		if v := getenv(d.name); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur < 0 {
				return c, fmt.Errorf("%s: %q: want a duration such as 10s", d.name, v)
			}
			*d.dst = dur
		}
	}
	return c, nil
}

// BrokenFile, when it exists, makes the server answer 500: on the path it
// holds, or on every path when it is empty (`demoapp break [PATH]`). It is
// private to each container ($TMPDIR; the image sets TMPDIR=/).
var BrokenFile = filepath.Join(os.TempDir(), "demoapp-broken")

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := configFromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "demoapp:", err)
		return 2
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		if err := serve(ctx, cfg, nil); err != nil {
			fmt.Fprintln(stderr, "demoapp:", err)
			return 1
		}
		return 0
	case "migrate":
		if err := migrate(cfg, stdout); err != nil {
			fmt.Fprintln(stderr, "demoapp: migrate:", err)
			return 1
		}
		return 0
	case "break":
		// Makes the running server fail from now on: on the path given, or
		// on every path. Tests use it to break a colour after the switch.
		path := ""
		if len(args) > 1 {
			path = args[1]
		}
		// Written aside and renamed: a request must never see the file
		// empty (which means "every path") while it is being written.
		tmp := BrokenFile + ".tmp"
		err := os.WriteFile(tmp, []byte(path), 0o644)
		if err == nil {
			err = os.Rename(tmp, BrokenFile)
		}
		if err != nil {
			fmt.Fprintln(stderr, "demoapp: break:", err)
			return 1
		}
		return 0
	case "healthcheck":
		if err := healthcheck(ctx, "http://127.0.0.1:"+cfg.Port+"/api/health/"); err != nil {
			fmt.Fprintln(stderr, "demoapp: healthcheck:", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "demoapp: unknown command %q (want serve, migrate, break or healthcheck)\n", cmd)
		return 2
	}
}

// serve listens after cfg.StartDelay and serves until ctx is done, then
// finishes in-flight requests. ready, if set, receives the listening address.
func serve(ctx context.Context, cfg config, ready chan<- string) error {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(cfg.StartDelay):
	}
	l, err := net.Listen("tcp", ":"+cfg.Port)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newApp(cfg, time.Now()), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "demoapp %s (%s) listening on %s\n", cfg.Version, cfg.Colour, l.Addr())
	if ready != nil {
		ready <- l.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func migrate(cfg config, stdout io.Writer) error {
	if cfg.FailMigrate {
		return errors.New("FAIL_MIGRATE=1: pretending the migration failed")
	}
	marker := filepath.Join(cfg.MediaDir, ".migrated-"+cfg.Version)
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrated to %s (marker %s)\n", cfg.Version, marker)
	return nil
}

func healthcheck(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return nil
}

// app is the HTTP handler.
type app struct {
	cfg     config
	started time.Time
	now     func() time.Time
	mux     *http.ServeMux
}

func newApp(cfg config, started time.Time) *app {
	a := &app{cfg: cfg, started: started, now: time.Now, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /{$}", a.index)
	a.mux.HandleFunc("GET /api/health/", a.health)
	a.mux.HandleFunc("GET /api/system/readiness/", a.readiness)
	a.mux.HandleFunc("GET /api/v1/auth/status/", a.authStatus)
	a.mux.HandleFunc("GET /admin/", a.admin)
	a.mux.HandleFunc("GET /admin/login/", a.adminLogin)
	a.mux.HandleFunc("GET /api/version", a.version)
	a.mux.HandleFunc("GET /api/slow/", a.slow)
	a.mux.HandleFunc("GET /media/{name}", a.getMedia)
	a.mux.HandleFunc("PUT /media/{name}", a.putMedia)
	return a
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Blueshift-Colour", a.cfg.Colour)
	w.Header().Set("X-App-Version", a.cfg.Version)
	if a.cfg.FailAfter > 0 && a.now().Sub(a.started) >= a.cfg.FailAfter {
		a.fail(w, "FAIL_AFTER="+a.cfg.FailAfter.String()+" has passed")
		return
	}
	if path, err := os.ReadFile(BrokenFile); err == nil && (len(path) == 0 || string(path) == r.URL.Path) {
		a.fail(w, "broken by `demoapp break`")
		return
	}
	if a.cfg.FailEndpoint != "" && r.URL.Path == a.cfg.FailEndpoint {
		a.fail(w, "FAIL_ENDPOINT="+a.cfg.FailEndpoint)
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *app) fail(w http.ResponseWriter, why string) {
	a.json(w, http.StatusInternalServerError, map[string]any{"status": "error", "error": why})
}

func (a *app) json(w http.ResponseWriter, status int, v map[string]any) {
	v["version"], v["colour"] = a.cfg.Version, a.cfg.Colour
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *app) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html>\n<html><head><title>blueshift demo</title></head><body><h1>blueshift demo %s</h1><p>Served by the <b>%s</b> colour.</p></body></html>\n",
		html.EscapeString(a.cfg.Version), html.EscapeString(a.cfg.Colour))
}

func (a *app) health(w http.ResponseWriter, r *http.Request) {
	if a.cfg.FailHealth {
		a.fail(w, "FAIL_HEALTH=1")
		return
	}
	a.json(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (a *app) readiness(w http.ResponseWriter, r *http.Request) {
	a.json(w, http.StatusOK, map[string]any{"ready": true, "uptime_seconds": int(a.now().Sub(a.started).Seconds())})
}

func (a *app) authStatus(w http.ResponseWriter, r *http.Request) {
	a.json(w, http.StatusOK, map[string]any{"authenticated": r.Header.Get("Authorization") != ""})
}

func (a *app) admin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/admin/login/", http.StatusFound)
}

func (a *app) adminLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html>\n<html><body><form method=post><input name=username><input name=password type=password></form></body></html>\n")
}

func (a *app) version(w http.ResponseWriter, r *http.Request) {
	a.json(w, http.StatusOK, map[string]any{"started": a.started.UTC().Format(time.RFC3339)})
}

func (a *app) slow(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
	ms = min(max(ms, 0), 30000)
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
	case <-r.Context().Done():
		return
	}
	a.json(w, http.StatusOK, map[string]any{"slept_ms": ms})
}

var mediaNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (a *app) mediaPath(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if !mediaNameRE.MatchString(name) {
		http.Error(w, "bad media name: want letters, digits, '.', '_' and '-'", http.StatusBadRequest)
		return "", false
	}
	return filepath.Join(a.cfg.MediaDir, name), true
}

func (a *app) getMedia(w http.ResponseWriter, r *http.Request) {
	p, ok := a.mediaPath(w, r)
	if !ok {
		return
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "cannot read media file", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = io.Copy(w, f)
}

func (a *app) putMedia(w http.ResponseWriter, r *http.Request) {
	p, ok := a.mediaPath(w, r)
	if !ok {
		return
	}
	tmp, err := os.CreateTemp(a.cfg.MediaDir, ".upload-*")
	if err != nil {
		http.Error(w, "cannot write media file: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(r.Body, 64<<20))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		http.Error(w, "cannot write media file: "+err.Error(), http.StatusInternalServerError)
		return
	}
	a.json(w, http.StatusCreated, map[string]any{"name": r.PathValue("name"), "bytes": n})
}
