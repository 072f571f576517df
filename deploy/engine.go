package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/notify"
)

// Engine is one environment of one app, connected: the host, its Docker
// Engine and compose, the proxy's switcher and the on-host state. Open
// builds it from a Config; Pipeline and RollbackPipeline are its standard
// pipelines. Its fields are for reading.
type Engine struct {
	App      string
	Env      *Environment
	Host     host.Host
	Switcher traffic.Switcher // nil when proxy.kind is none
	Store    *state.Store

	docker container.Engine
	// composeFileDir is the local directory of the compose file (the
	// deploy.yml's directory unless compose_file is absolute).
	composeFileDir string
	logger         *slog.Logger
	// getenv reads the environment (Options.Getenv, os.Getenv by default).
	getenv func(string) string

	// runEnv, while a run holds the lock (set by its lock phase, dropped
	// by unlock), keeps the host's env file as first read in that run.
	runEnv *envFileCache

	// compose is the host's compose program, detected in the background
	// from Open on (see ComposeCLI).
	compose composeDetection
	// liveAtLock is the proxy's live colour as the lock's command read it
	// (liveFileReader), for the run's prepare phase; nil when not read, or
	// once reconcile may have switched the proxy.
	liveAtLock *liveReading

	closers    []io.Closer
	dispatcher *notify.Dispatcher
	redactOnce sync.Once
	redactor   func(string) string
}

// Options tune Open.
type Options struct {
	// Logger receives the engine's log, masked by the environment's
	// Redactor (see redactingLogger); nil discards.
	Logger *slog.Logger
	Getenv func(string) string
	// Host, when set, is used instead of connecting to the configured one
	// (tests hand in a fake or an already connected host). Open wraps it
	// with CountRemote either way.
	Host host.Host
	// Docker, when set, is used instead of a client over the host's socket.
	Docker container.Engine
	// DockerSocket is the Engine's socket on the host; default
	// /var/run/docker.sock.
	DockerSocket string
}

// Open connects to environment envName of cfg: the host (local or SSH), its
// Docker Engine (through the same transport), compose, and the proxy. It
// changes nothing on the host.
func Open(ctx context.Context, cfg *Config, envName string, o Options) (*Engine, error) {
	env, err := cfg.Env(envName)
	if err != nil {
		return nil, err
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Nothing the engine or the libraries it drives log may show a secret,
	// the host, the user or the path.
	o.Logger = redactingLogger(o.Logger, env.Redactor())
	e := &Engine{App: cfg.App, Env: env, logger: o.Logger, getenv: o.Getenv, Host: o.Host}
	if cfg.File != "" {
		e.composeFileDir = filepath.Dir(cfg.File)
	}
	if e.Host == nil {
		h, err := env.Host.Connect(ctx, o.Logger)
		if err != nil {
			return nil, fmt.Errorf("environments.%s.host: %w", env.Name, err)
		}
		e.Host = h
		e.closers = append(e.closers, h)
	}
	// Every command a phase runs counts in that phase's report line.
	e.Host = CountRemote(e.Host)
	e.docker = o.Docker
	if e.docker == nil {
		sock := o.DockerSocket
		if sock == "" {
			sock = "/var/run/docker.sock"
		}
		cli, err := host.NewDockerClient(e.Host, sock)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("docker engine on %s: %w", e.Host.Name(), err)
		}
		e.docker = cli
		e.closers = append(e.closers, cli)
	}
	// Compose is asked for in the background: its command (a round trip
	// over SSH) runs beside the lock's instead of before it, and a
	// rollback to a warm standby needs no compose before the switch.
	e.compose.start(ctx, e.Host, env.Path)
	e.Store = state.New(e.Host, env.Path)
	if e.Switcher, err = e.newSwitcher(); err != nil {
		e.Close()
		return nil, fmt.Errorf("environments.%s.proxy: %w", env.Name, err)
	}
	return e, nil
}

// Close releases the connections Open made.
func (e *Engine) Close() error {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		errs = append(errs, e.closers[i].Close())
	}
	e.closers = nil
	return errors.Join(errs...)
}

// Routes are the proxy routes: one per stateless service with ports, named
// "<app>_<env>_<service>" (dashes become underscores); with Caddy the first
// is named by proxy.caddy.route_id. The site configuration proxies to them.
func (e *Engine) Routes() []traffic.Route {
	var out []traffic.Route
	for _, svc := range e.Env.Services.Stateless {
		p, ok := e.Env.Ports[svc]
		if !ok {
			continue
		}
		name := routeName(e.App, e.Env.Name, svc)
		if len(out) == 0 && e.Env.Proxy.Kind == "caddy" {
			name = e.Env.Proxy.Caddy.RouteID // the configured @id names the main route
		}
		out = append(out, traffic.Route{
			Name: name,
			Upstreams: traffic.Upstreams{
				string(version.Blue):  {fmt.Sprintf("127.0.0.1:%d", p.Blue)},
				string(version.Green): {fmt.Sprintf("127.0.0.1:%d", p.Green)},
			},
		})
	}
	return out
}

// routeName names a service's route at the proxy: "<app>-<env>" for the
// first (Caddy's route_id default), "<app>-<env>-<service>" otherwise.
func routeName(app, env, svc string) string {
	return strings.ReplaceAll(app+"_"+env+"_"+svc, "-", "_")
}

func (e *Engine) newSwitcher() (traffic.Switcher, error) {
	routes := e.Routes()
	switch e.Env.Proxy.Kind {
	case "none", "":
		return nil, nil
	case "nginx":
		n := e.Env.Proxy.Nginx
		return traffic.NewNginx(traffic.NginxConfig{
			App: e.App + "-" + e.Env.Name, Routes: routes, UpstreamFile: n.UpstreamFile,
			Container: n.Container, Command: n.Command, ColourListen: n.ColourListen, Runner: e.Host, Dialer: e.Host, Logger: e.logger,
		})
	case "caddy":
		c := e.Env.Proxy.Caddy
		return traffic.NewCaddy(traffic.CaddyConfig{
			Admin: c.Admin, Routes: routes, Dir: c.Dir, Runner: e.Host, Dialer: e.Host, Logger: e.logger,
		})
	}
	return nil, fmt.Errorf("kind %q: must be nginx, caddy or none", e.Env.Proxy.Kind)
}

// composeDetection is the detection of the host's compose program, run
// once in the background (start) and waited for by its users.
type composeDetection struct {
	done    chan struct{}
	cli     compose.CLI
	version string
	err     error
}

// start detects compose on h in the background, for the app at dir.
func (c *composeDetection) start(ctx context.Context, h host.Host, dir string) {
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		c.cli, c.version, c.err = compose.DetectCLI(ctx, h)
		c.cli.Dir = dir
	}()
}

// result waits for the detection; an engine not built by Open has none
// and gets Compose v2.
func (c *composeDetection) result(ctx context.Context) (compose.CLI, string, error) {
	if c.done == nil {
		return compose.CLI{Binary: compose.V2}, "", nil
	}
	select {
	case <-c.done:
		return c.cli, c.version, c.err
	case <-ctx.Done():
		return compose.CLI{}, "", fmt.Errorf("compose: detect: %w", ctx.Err())
	}
}

// ComposeCLI returns the host's compose program (v2, or v1 as a fallback)
// with Dir set to the app path; each colour sets its project and file.
// Open starts detecting it; ComposeCLI waits for the answer.
func (e *Engine) ComposeCLI(ctx context.Context) (compose.CLI, error) {
	cli, _, err := e.compose.result(ctx)
	if err != nil {
		return cli, fmt.Errorf("on %s: %w", e.Host.Name(), err)
	}
	return cli, nil
}

// composeCLI is ComposeCLI for the colour helpers, which cannot fail: a
// failed detection gives Compose v2, whose commands then fail on the host
// with its own message (preflight reports the detection's).
func (e *Engine) composeCLI() compose.CLI {
	cli, _, err := e.compose.result(context.Background())
	if err != nil || len(cli.Binary) == 0 {
		cli.Binary = compose.V2
	}
	return cli
}

// composeDir is where rendered compose files live on the host.
func (e *Engine) composeDir() string { return path.Join(e.Store.Path(), "compose") }

// colourCLI is the compose CLI of one colour's project on the host.
func (e *Engine) colourCLI(c version.Colour) compose.CLI {
	cli := e.composeCLI()
	cli.ProjectName = compose.ColourProject(e.App, c)
	cli.Files = []string{path.Join(e.composeDir(), cli.ProjectName+".yml")}
	return cli
}

// sharedCLI is the compose CLI of the shared project.
func (e *Engine) sharedCLI() compose.CLI {
	cli := e.composeCLI()
	cli.ProjectName = e.App
	cli.Files = []string{path.Join(e.composeDir(), e.App+".yml")}
	return cli
}

// loadProject reads the app's compose file locally, interpolating variables
// from the env file on the host (so ${VARS} resolve as they will there). For
// a remote host the .env beside the compose file on this machine is never
// read: it is this machine's, not the host's, and would silently fill
// variables the host's env file leaves unset. For a local environment this
// machine is the host, so it is read as docker compose would, and the
// host's env file overrides it.
func (e *Engine) loadProject(ctx context.Context) (*compose.Project, error) {
	file := e.Env.ComposeFile
	dir := e.composeFileDir
	if filepath.IsAbs(file) {
		dir, file = filepath.Dir(file), filepath.Base(file)
	}
	if dir == "" {
		dir = "."
	}
	vars, err := e.hostEnvFile(ctx)
	if err != nil {
		return nil, err
	}
	p, err := compose.Load(ctx, compose.LoadOptions{
		Dir: dir, ComposeFile: file, Env: vars, Logger: e.logger,
		NoDotEnv: !e.Env.Host.IsLocal(),
	})
	if err != nil {
		return nil, fmt.Errorf("environments.%s.compose_file: %w", e.Env.Name, err)
	}
	return p, nil
}

// envFileCache is the host's env file as read once in a run.
type envFileCache struct {
	mu   sync.Mutex
	read bool
	vars []string
	sum  string // the file's SHA-256 (state.Release.EnvFileSHA256)
}

// hostEnvFile reads the env file on the host as KEY=VALUE pairs, parsed as
// docker compose parses env files (compose.ParseEnvFile); a missing file is
// no variables. During a run it is read once (preflight and start both
// render the compose file; each read was a remote command): the file is
// the environment's configuration, not something a run changes.
func (e *Engine) hostEnvFile(ctx context.Context) ([]string, error) {
	if e.Env.EnvFile == "" {
		return nil, nil
	}
	c := e.runEnv
	if c == nil {
		vars, _, err := e.readHostEnvFile(ctx)
		return vars, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read {
		return c.vars, nil
	}
	vars, sum, err := e.readHostEnvFile(ctx)
	if err == nil {
		c.read, c.vars, c.sum = true, vars, sum
	}
	return vars, err
}

// runEnvFileSum is the SHA-256 of the env file as this run read it (see
// state.Release.EnvFileSHA256); false when the run has not read it (no
// env_file, or nothing rendered: a warm rollback), so nothing is asked of
// the host for it.
func (e *Engine) runEnvFileSum() (string, bool) {
	c := e.runEnv
	if c == nil || e.Env.EnvFile == "" {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum, c.read
}

// stampEnvFile records in r the env file this run read, when it read one
// (a release whose kept containers were only started again keeps its own).
func (e *Engine) stampEnvFile(r *state.Release) {
	if sum, ok := e.runEnvFileSum(); ok && r != nil {
		r.EnvFileSHA256 = sum
	}
}

// envFileChange is the warning of a rollback from `from` to `to` when they
// ran with different env files ("" when they did not, or one is unknown).
// It names hashes only: the file holds secrets.
func envFileChange(from, to *state.Release) string {
	if from == nil || to == nil || !state.EnvFileChanged(from.EnvFileSHA256, to.EnvFileSHA256) {
		return ""
	}
	return fmt.Sprintf("%s ran with a different env file (%s) than %s (%s): its kept containers keep the values they started with; deploy again to apply the env file on the host now",
		to.Version, state.EnvFileLabel(to.EnvFileSHA256), from.Version, state.EnvFileLabel(from.EnvFileSHA256))
}

// readHostEnvFile is hostEnvFile without the run's cache; it also returns
// the file's SHA-256 (state.NoEnvFile when it does not exist).
func (e *Engine) readHostEnvFile(ctx context.Context) ([]string, string, error) {
	p := e.Env.EnvFile
	if !path.IsAbs(p) {
		p = path.Join(e.Env.Path, p)
	}
	data, err := host.ReadFile(ctx, e.Host, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, state.NoEnvFile, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("environments.%s.env_file: %w", e.Env.Name, err)
	}
	sum := sha256.Sum256(data)
	vars, unset, err := compose.ParseEnvFile(data, p)
	if err != nil {
		return nil, "", fmt.Errorf("environments.%s.env_file: %w", e.Env.Name, err)
	}
	if len(unset) > 0 && e.logger != nil {
		e.logger.Warn("the env file on the host refers to variables it does not define; they are empty", "file", p, "variables", unset)
	}
	out := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, k+"="+vars[k])
	}
	return out, hex.EncodeToString(sum[:]), nil
}

// render produces the colour and shared projects for version v.
func (e *Engine) render(ctx context.Context, c version.Colour, v version.Version, id string) (*compose.Rendered, error) {
	p, err := e.loadProject(ctx)
	if err != nil {
		return nil, err
	}
	ports := map[string]compose.PortMap{}
	for svc, pc := range e.Env.Ports {
		ports[svc] = compose.PortMap{Container: uint32(pc.Container), Host: uint32(pc.Port(c))}
	}
	r, err := compose.Render(p, compose.RenderOptions{
		App: e.App, Colour: c, Version: v.String(), DeploymentID: id,
		Shared: e.Env.Services.Shared, Stateless: e.Env.Services.Stateless,
		Ports: ports, HostDir: e.Env.Path,
	})
	if err != nil {
		return nil, fmt.Errorf("render %s %s: %w", c, v, err)
	}
	setColourEnv(r.Colour, string(c))
	return r, nil
}

// images lists the images of a rendered colour, service -> reference.
func images(r *compose.Rendered) map[string]string {
	out := map[string]string{}
	for name, svc := range r.Colour.Project.Services {
		out[name] = svc.Image
	}
	return out
}
