package thebot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// The services of the seed's compose file.
var (
	// StatelessServices run once per colour.
	StatelessServices = []string{"backend", "frontend", "worker", "beat"}
	// SharedServices run once for both colours.
	SharedServices = []string{"db", "redis"}
)

// Compose is the compose CLI of the workspace's project (the seed's way:
// one project holding every service).
func (w *Workspace) Compose() compose.CLI {
	return compose.CLI{ProjectName: w.App, Files: []string{w.ComposeFile}, Dir: w.Dir}
}

// Up builds and pushes the images (Build), writes the workspace's files
// and brings the stack up on the local Docker Engine the way the seed did:
// `docker compose up` of every service (waiting for them to be healthy),
// migrations and collectstatic in the backend, then the host nginx (started,
// or reloaded when it runs). It returns when the app answers through the
// host nginx. Running it again re-uses what runs.
func Up(ctx context.Context, o Options) (*Workspace, error) {
	w, err := Open(o)
	if err != nil {
		return nil, err
	}
	if w.Images = o.Images; w.Images == nil {
		if w.Images, err = Build(ctx, w.Options); err != nil {
			return nil, err
		}
	}
	if err := w.WriteFiles(w.Images); err != nil {
		return nil, err
	}
	r := host.NewLocal()
	c := w.Compose()
	w.progress("docker compose -p %s up (%s)", w.App, strings.Join(append(StatelessServices, SharedServices...), ", "))
	if err := r.Run(ctx, c.Up(4*time.Minute)); err != nil {
		return nil, fmt.Errorf("thebot: compose up: %w", err)
	}
	for _, argv := range [][]string{
		{"python", "manage.py", "migrate", "--noinput"},
		{"python", "manage.py", "collectstatic", "--noinput"},
	} {
		w.progress("backend: %s", strings.Join(argv, " "))
		if err := r.Run(ctx, c.Exec("backend", nil, argv...)); err != nil {
			return nil, fmt.Errorf("thebot: %s: %w", strings.Join(argv[1:3], " "), err)
		}
	}
	if err := w.StartProxy(ctx); err != nil {
		return nil, err
	}
	if err := w.awaitPublic(ctx, "/api/health/", 60*time.Second); err != nil {
		return nil, err
	}
	w.progress("thebot %s is up at %s", FirstVersion, w.PublicURL())
	return w, nil
}

// nginxPID returns the host nginx's master pid when it runs.
func (w *Workspace) nginxPID() (int, bool) {
	return livePID(filepath.Join(w.NginxDir, "nginx.pid"), "nginx")
}

// StartProxy checks the host nginx's configuration, then starts nginx (it
// daemonizes) or reloads it when it already runs. Call WriteFiles first.
func (w *Workspace) StartProxy(ctx context.Context) error {
	r := host.NewLocal()
	cmd := w.NginxCommand()
	if err := r.Run(ctx, host.Cmd{Argv: append(cmd, "-t", "-q")}); err != nil {
		return fmt.Errorf("thebot: host nginx configuration: %w", err)
	}
	if pid, ok := w.nginxPID(); ok {
		w.progress("host nginx running (pid %d): reloading", pid)
		return r.Run(ctx, host.Cmd{Argv: append(cmd, "-s", "reload")})
	}
	w.progress("starting host nginx on %s", w.ProxyAddr)
	if err := r.Run(ctx, host.Cmd{Argv: cmd}); err != nil {
		return fmt.Errorf("thebot: start host nginx: %w", err)
	}
	return nil
}

// awaitPublic waits until path answers 200 through the host nginx.
func (w *Workspace) awaitPublic(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.PublicURL()+path, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thebot: %s%s does not answer 200 after %s (last: %s)", w.PublicURL(), path, limit, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// DownReport says what Down removed.
type DownReport struct {
	NginxStopped, RegistryStopped bool
}

// Down removes the stack: the compose projects with their volumes (the
// seed's <App>, and <App>-blue, <App>-green left by a blueshift deployment), the host
// nginx and the registry (its storage stays, as do the images: the next Up
// re-uses them). Idempotent.
func Down(ctx context.Context, o Options) (DownReport, error) {
	var rep DownReport
	w, err := Open(o)
	if err != nil {
		return rep, err
	}
	r := host.NewLocal()
	var errs []error
	// The seed's single project, and the colours and shared project a
	// blueshift deployment makes (compose v2 finds them by name).
	for _, p := range []string{w.App + "-blue", w.App + "-green", w.App} {
		w.progress("docker compose -p %s down --volumes", p)
		if err := r.Run(ctx, compose.CLI{ProjectName: p, Dir: w.Dir}.Down(true)); err != nil {
			errs = append(errs, fmt.Errorf("compose down %s: %w", p, err))
		}
	}
	for _, v := range []string{"media", "static", "postgres_data"} {
		_ = r.Run(ctx, host.Cmd{Argv: []string{"docker", "volume", "rm", "--force", w.App + "_" + v}})
	}
	if r.Run(ctx, host.Cmd{Argv: []string{"docker", "network", "inspect", w.App + "_net"}}) == nil {
		_ = r.Run(ctx, host.Cmd{Argv: []string{"docker", "network", "rm", w.App + "_net"}})
	}
	if pid, ok := w.nginxPID(); ok {
		w.progress("stopping host nginx (pid %d)", pid)
		_ = syscall.Kill(pid, syscall.SIGQUIT)
		for i := 0; i < 100; i++ {
			if _, still := w.nginxPID(); !still {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, still := w.nginxPID(); still {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		rep.NginxStopped = true
	}
	if err := os.Remove(filepath.Join(w.NginxDir, "nginx.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	stopped, err := registryFor(w.Options).stop(ctx)
	rep.RegistryStopped = stopped
	if err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}
