package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/traffic/load"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/examples/demoapp/demoimage"
)

// Defaults of Options.
const (
	DefaultApp       = "blueshift-demo"
	DefaultImage     = "blueshift-demo/web"
	DefaultProxyAddr = "127.0.0.1:18080"
	DefaultAdminAddr = "127.0.0.1:2020"
	DefaultBluePort  = 18001
	DefaultGreenPort = 18002
	DefaultRate      = 150
	DefaultMonitor   = 15 * time.Second
	// Environment is the deploy.yml environment the demo deploys to.
	Environment = "production"
	// DirEnv names the variable that overrides the workspace directory.
	DirEnv = "BLUESHIFT_DEMO_DIR"
)

// The two releases the demo deploys, in order.
const (
	FirstVersion  = "v1.0.0"
	SecondVersion = "v1.0.1"
)

// ErrRequestsFailed is returned by Run when requests sent through the proxy
// during the deployment failed: the deployment was not zero-downtime.
var ErrRequestsFailed = errors.New("requests failed during the deployment")

// Options configure the demo. The zero value is the demo `go tool mage demo`
// runs; tests change the names and ports so as not to clash with it.
type Options struct {
	// Dir is the workspace. Default DefaultDir(Getenv).
	Dir string
	// App is the application's name (its compose projects are <App>-blue,
	// <App>-green and <App>). Default DefaultApp.
	App string
	// Image is the repository of the demo images. Default DefaultImage.
	Image string
	// ProxyAddr is where Caddy serves the app (the public URL's host:port).
	// Default DefaultProxyAddr.
	ProxyAddr string
	// AdminAddr is Caddy's admin API address. Default DefaultAdminAddr.
	AdminAddr string
	// BluePort and GreenPort are the colours' loopback ports. Default
	// DefaultBluePort, DefaultGreenPort.
	BluePort, GreenPort int
	// Rate is the load sent through the proxy during the second deployment,
	// in requests per second. Default DefaultRate.
	Rate int
	// Monitor is the stability window after each switch. Default
	// DefaultMonitor.
	Monitor time.Duration
	// Caddy is the caddy binary. Default CaddyBinary(): installed with
	// `go install` when missing.
	Caddy string
	// DockerSocket is the Docker Engine's socket. Default
	// host.DefaultDockerSocket.
	DockerSocket string
	// Getenv reads the environment. Default os.Getenv. Notification
	// credentials (TELEGRAM_*, GITHUB_*, PRODUCTION_*) are hidden from the
	// demo's deployments: the demo announces nothing.
	Getenv func(string) string
	// Logger receives the library's structured logs; nil discards them.
	Logger *slog.Logger
	// Progress, if set, receives what the demo is doing, one line at a time.
	Progress func(string)
	// BeforeDeploy, if set, is called with each deployment before its
	// pipeline runs (to set Observe); AfterDeploy after it returned.
	BeforeDeploy func(d *deploy.Deployment)
	AfterDeploy  func(d *deploy.Deployment, err error)
}

// withDefaults returns o with every default filled in.
func (o Options) withDefaults() (Options, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	dir, err := WorkspaceDir(o.Dir, o.Getenv, DirEnv, "blueshift-demo")
	if err != nil {
		return o, err
	}
	o.Dir = dir
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.App, DefaultApp)
	def(&o.Image, DefaultImage)
	def(&o.ProxyAddr, DefaultProxyAddr)
	def(&o.AdminAddr, DefaultAdminAddr)
	def(&o.DockerSocket, host.DefaultDockerSocket)
	if o.BluePort == 0 {
		o.BluePort = DefaultBluePort
	}
	if o.GreenPort == 0 {
		o.GreenPort = DefaultGreenPort
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Monitor == 0 {
		o.Monitor = DefaultMonitor
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// DefaultDir is the workspace used when Options.Dir is empty:
// $BLUESHIFT_DEMO_DIR, else $XDG_CACHE_HOME/blueshift-demo, else
// ~/.cache/blueshift-demo.
func DefaultDir(getenv func(string) string) (string, error) {
	return CacheDir(getenv, DirEnv, "blueshift-demo")
}

// WorkspaceDir is dir made absolute, or when dir is empty
// CacheDir(getenv, envVar, name): the demo's and the reference stack's
// (examples/thebot) workspaces are found the same way.
func WorkspaceDir(dir string, getenv func(string) string, envVar, name string) (string, error) {
	if dir == "" {
		d, err := CacheDir(getenv, envVar, name)
		if err != nil {
			return "", err
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s workspace %s: %w", name, dir, err)
	}
	return abs, nil
}

// CacheDir is a workspace directory named name: $envVar when set, else
// $XDG_CACHE_HOME/name, else ~/.cache/name. The demo and the reference
// stack (examples/thebot) keep their workspaces there.
func CacheDir(getenv func(string) string, envVar, name string) (string, error) {
	if d := getenv(envVar); d != "" {
		return d, nil
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, name), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%s workspace: no home directory: set %s: %w", name, envVar, err)
		}
		home = h
	}
	return filepath.Join(home, ".cache", name), nil
}

// Workspace is a prepared demo: its files and the options it was made with.
type Workspace struct {
	Options
	// ConfigFile is the workspace's deploy.yml; ComposeFile its
	// docker-compose.yml.
	ConfigFile, ComposeFile string
	// AppDir is the environment's path: state, backups, rendered projects.
	AppDir string
}

// PublicURL is where the app is served through Caddy.
func (w *Workspace) PublicURL() string { return "http://" + w.ProxyAddr }

// Files of a workspace.
const (
	configName  = "deploy.yml"
	composeName = "docker-compose.yml"
	appDirName  = "app"
	caddyConfig = "caddy.json"
	caddyLog    = "caddy.log"
	caddyPID    = "caddy.pid"
	caddyData   = "caddy-data"
	// caddyColours holds the colour files blueshift switches Caddy with.
	caddyColours = "caddy-colours"
)

// Open returns the workspace o describes without changing anything.
func Open(o Options) (*Workspace, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Workspace{
		Options:     o,
		ConfigFile:  filepath.Join(o.Dir, configName),
		ComposeFile: filepath.Join(o.Dir, composeName),
		AppDir:      filepath.Join(o.Dir, appDirName),
	}, nil
}

// Setup builds the two demo images on the local Docker Engine (the build
// reuses the engine's cache, so a second run takes a second) and writes the
// workspace's docker-compose.yml and deploy.yml. It returns the workspace.
func Setup(ctx context.Context, o Options) (*Workspace, error) {
	ws, err := Open(o)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(ws.AppDir, 0o755); err != nil {
		return nil, fmt.Errorf("demo workspace: %w", err)
	}
	if err := EnsureCompose(ctx, func(s string) { ws.progress("%s", s) }); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	cli, err := host.NewDockerClient(host.NewLocal(), ws.DockerSocket)
	if err != nil {
		return nil, fmt.Errorf("demo: docker engine: %w", err)
	}
	defer cli.Close()
	for _, v := range []string{FirstVersion, SecondVersion} {
		ws.progress("building image %s:%s", ws.Image, v)
		if _, err := demoimage.Build(ctx, cli, ws.Image, v); err != nil {
			return nil, fmt.Errorf("demo: %w (is the Docker Engine running?)", err)
		}
	}
	compose, config, err := ws.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{ws.ComposeFile, compose}, {ws.ConfigFile, config}} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return nil, fmt.Errorf("demo workspace: %w", err)
		}
	}
	ws.progress("workspace %s ready", ws.Dir)
	return ws, nil
}

// Files returns the contents of the workspace's docker-compose.yml and
// deploy.yml.
func (w *Workspace) Files() (compose, config []byte, err error) {
	data := map[string]any{
		"App": w.App, "Image": w.Image + ":" + FirstVersion, "Port": demoimage.Port,
		"Binary": demoimage.Binary, "AppDir": w.AppDir, "Dir": w.Dir,
		"Blue": w.BluePort, "Green": w.GreenPort, "Admin": w.AdminAddr,
		"RouteID": routeID(w.App), "CaddyDir": w.caddyDir(), "PublicURL": w.PublicURL(),
		"Monitor": w.Monitor.String(),
	}
	var c, d bytes.Buffer
	if err := composeTmpl.Execute(&c, data); err != nil {
		return nil, nil, err
	}
	if err := configTmpl.Execute(&d, data); err != nil {
		return nil, nil, err
	}
	return c.Bytes(), d.Bytes(), nil
}

// routeID is the @id of the Caddy route the demo switches.
func routeID(app string) string { return strings.ReplaceAll(app, "-", "_") + "_web" }

var composeTmpl = template.Must(template.New(composeName).Parse(`# The blueshift demo app (examples/demoapp), written by ` + "`go tool mage demo`" + `.
# blueshift renders one project per colour from this file ({{.App}}-blue,
# {{.App}}-green): the image tag becomes the deployed version and each colour
# publishes port {{.Port}} on its own loopback port (deploy.yml's ports).
services:
  web:
    image: {{.Image}}
    environment:
      MEDIA_DIR: /media
    ports:
      - "{{.Port}}"
    volumes:
      - media:/media
    healthcheck:
      test: ["CMD", "{{.Binary}}", "healthcheck"]
      interval: 2s
      timeout: 5s
      retries: 3

# media is shared by both colours (blueshift names it {{.App}}_media) and is
# backed up before every deployment.
volumes:
  media: {}
`))

var configTmpl = template.Must(template.New(configName).Parse(`# blueshift configuration of the demo, written by ` + "`go tool mage demo`" + `.
# examples/deploy.yml in blueshift's repository documents every field.
app: {{.App}}
environments:
  production:
    host:
      address: local
    path: {{.AppDir}}
    compose_file: docker-compose.yml
    public_url: {{.PublicURL}}
    services:
      stateless: [web]
    ports:
      web: {container: {{.Port}}, blue: {{.Blue}}, green: {{.Green}}}
    proxy:
      kind: caddy
      caddy:
        admin: {{.Admin}}
        route_id: {{.RouteID}}
        dir: {{.CaddyDir}}
    hooks:
      migrate: [{{.Binary}}, migrate]
      migrate_service: web
      migrate_timeout: 1m
    health:
      backend:
        url: /api/health/
        service: web
        attempts: 30
        interval: 1s
    # smoke: the default endpoints (the demo app answers them all).
    monitor:
      window: {{.Monitor}}
      interval: 1s
      max_errors: 3
    backup:
      enabled: true
      dir: backups
      keep: 3
      # No PostgreSQL: no database image can be pulled here.
      media:
        volume: media
      timeout: 2m
    tests:
      command: [go, version]
      dir: {{.Dir}}
      timeout: 5m
    # Preflight checks that the phases' bounds add up to less than the
    # deployment's deadline (about 20m here).
    timeouts:
      deployment: 30m
      start: 5m
      drain: 2s
`))

// hiddenEnv are variables the demo's deployments never see: the demo
// announces nothing and deploys to this machine only.
var hiddenEnv = []string{"TELEGRAM_", "GITHUB_TOKEN", "GITHUB_REPOSITORY", "PRODUCTION_", "SMTP_", "DEPLOY_WEBHOOK_URL", "BLUESHIFT_TELEGRAM_API"}

func (w *Workspace) getenv(key string) string {
	for _, h := range hiddenEnv {
		if strings.HasPrefix(key, h) {
			return ""
		}
	}
	return w.Getenv(key)
}

// Engine opens the demo's production environment from the workspace's
// deploy.yml. The caller closes it.
func (w *Workspace) Engine(ctx context.Context) (*deploy.Engine, error) {
	return deploy.NewFromFile(ctx, w.ConfigFile, Environment, deploy.Options{
		Logger: w.Logger, Getenv: w.getenv, DockerSocket: w.DockerSocket,
	})
}

// Result is what Run did.
type Result struct {
	// First is the deployment of FirstVersion; nil when it was already
	// live. Second is the deployment of SecondVersion under load.
	First, Second *deploy.Deployment
	// Load counts the requests sent through the proxy during Second.
	Load load.Stats
	// LoadURL is where the load was sent.
	LoadURL string
}

// LoadLine is the load's numbers on one line, for people: requests sent
// and their rate, failures, latency percentiles and which colour answered
// how many.
func (r *Result) LoadLine() string {
	l := r.Load
	var by []string
	for _, c := range []string{string(version.Blue), string(version.Green)} {
		if n := l.ByColour[c]; n > 0 {
			by = append(by, fmt.Sprintf("%s %d", c, n))
		}
	}
	if len(by) == 0 {
		by = []string{"none"}
	}
	return fmt.Sprintf("%d requests to %s (%.0f/s): %d failed, p50 %s, p99 %s; answered by %s",
		l.Sent, r.LoadURL, l.AchievedRate(), l.Failed, l.P50.Round(time.Microsecond), l.P99.Round(time.Microsecond), strings.Join(by, ", "))
}

// Run deploys FirstVersion (unless it is live already), then SecondVersion
// through the full production pipeline while Rate requests per second go
// through the proxy. The proxy must be running (StartProxy). It returns an
// error when a deployment failed or, wrapping ErrRequestsFailed, when any
// request failed.
func Run(ctx context.Context, ws *Workspace) (*Result, error) {
	eng, err := ws.Engine(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer eng.Close()
	res := &Result{LoadURL: ws.PublicURL() + "/api/health/"}

	st, err := eng.Store.Load(ctx)
	if err != nil {
		return res, fmt.Errorf("demo: %w", err)
	}
	if st.Current != nil && st.Current.Version == FirstVersion && ws.serving(ctx, FirstVersion) {
		ws.progress("%s is live already (%s)", FirstVersion, st.Live)
	} else {
		ws.progress("deploying %s (first deployment)", FirstVersion)
		res.First, err = ws.deploy(ctx, eng, FirstVersion)
		if err != nil {
			return res, err
		}
	}

	ws.progress("deploying %s while sending %d requests/s to %s", SecondVersion, ws.Rate, res.LoadURL)
	gen, err := load.Start(ctx, load.Options{URL: res.LoadURL, Rate: ws.Rate, Timeout: 10 * time.Second})
	if err != nil {
		return res, fmt.Errorf("demo: start load: %w", err)
	}
	res.Second, err = ws.deploy(ctx, eng, SecondVersion)
	res.Load = gen.Stop()
	if err != nil {
		return res, err
	}
	if res.Load.Failed > 0 {
		return res, fmt.Errorf("demo: %w: %d of %d (%s); the proxy's log is %s",
			ErrRequestsFailed, res.Load.Failed, res.Load.Sent, strings.Join(res.Load.Errors, "; "), filepath.Join(ws.Dir, caddyLog))
	}
	return res, nil
}

// deploy runs the standard pipeline for version v.
func (w *Workspace) deploy(ctx context.Context, eng *deploy.Engine, v string) (*deploy.Deployment, error) {
	ver, err := version.Parse(v)
	if err != nil {
		return nil, err
	}
	d := eng.NewDeployment(ver)
	d.Reason = "blueshift demo"
	if w.BeforeDeploy != nil {
		w.BeforeDeploy(d)
	}
	err = eng.Pipeline().Run(ctx, d)
	if w.AfterDeploy != nil {
		w.AfterDeploy(d, err)
	}
	if err != nil {
		return d, fmt.Errorf("demo: deploy %s: %w", v, err)
	}
	return d, nil
}

// Rollback returns to the previous release through the library's manual
// rollback pipeline (what `go tool mage rollback` runs).
func Rollback(ctx context.Context, ws *Workspace) (*deploy.Deployment, error) {
	eng, err := ws.Engine(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer eng.Close()
	d := eng.NewRollback()
	d.Reason = "blueshift demo"
	if ws.BeforeDeploy != nil {
		ws.BeforeDeploy(d)
	}
	err = eng.RollbackPipeline("").Run(ctx, d)
	if ws.AfterDeploy != nil {
		ws.AfterDeploy(d, err)
	}
	if err != nil {
		return d, fmt.Errorf("demo: rollback: %w", err)
	}
	return d, nil
}

// serving reports whether the public URL answers /api/version with version
// v.
func (w *Workspace) serving(ctx context.Context, v string) bool {
	got, err := Version(ctx, w.PublicURL())
	return err == nil && got.Version == v
}

// NextSteps is what to try once the demo runs: the export line for
// DEPLOY_CONFIG and the commands, one a line.
func (w *Workspace) NextSteps() []string {
	return []string{
		"export DEPLOY_CONFIG=" + shellQuote(w.ConfigFile),
		"curl -i " + w.PublicURL() + "/api/version",
		"go tool mage status",
		"go tool mage rollback",
		"go tool mage demo:down",
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// portFree reports whether addr can be listened on.
func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// atoi parses a pid file's content.
func atoi(b []byte) (int, error) { return strconv.Atoi(strings.TrimSpace(string(b))) }
