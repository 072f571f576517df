package deploy

import (
	"context"
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
// Engine and compose, the proxy's switcher and the on-host state. The
// blue-green phases are its methods; Open builds it from a Config.
type Engine struct {
	App    string
	Env    *Environment
	Host   host.Host
	Docker container.Engine
	// Compose is the host's compose program (v2, or v1 as a fallback) with
	// Dir set to the app path; each colour sets its project and file.
	Compose  compose.CLI
	Switcher traffic.Switcher // nil when proxy.kind is none
	Store    *state.Store
	// ComposeDir is the local directory of the compose file (the deploy.yml's
	// directory unless compose_file is absolute).
	ComposeDir string
	Logger     *slog.Logger
	// Getenv reads the environment (os.Getenv unless a test sets it).
	Getenv func(string) string

	// runEnv, while a run holds the lock (set by its lock phase, dropped
	// by unlock), keeps the host's env file as first read in that run.
	runEnv *envFileCache

	// composeVersion is the version Open detected with Compose, which
	// preflight reports instead of asking again ("" when not detected).
	composeVersion string

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
	e := &Engine{App: cfg.App, Env: env, Logger: o.Logger, Getenv: o.Getenv, Host: o.Host}
	if cfg.File != "" {
		e.ComposeDir = filepath.Dir(cfg.File)
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
	e.Docker = o.Docker
	if e.Docker == nil {
		sock := o.DockerSocket
		if sock == "" {
			sock = "/var/run/docker.sock"
		}
		cli, err := host.NewDockerClient(e.Host, sock)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("docker engine on %s: %w", e.Host.Name(), err)
		}
		e.Docker = cli
		e.closers = append(e.closers, cli)
	}
	cli, cv, err := compose.DetectCLI(ctx, e.Host)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("on %s: %w", e.Host.Name(), err)
	}
	e.composeVersion = cv
	cli.Dir = env.Path
	e.Compose = cli
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
			Container: n.Container, Command: n.Command, ColourListen: n.ColourListen, Runner: e.Host, Dialer: e.Host, Logger: e.Logger,
		})
	case "caddy":
		c := e.Env.Proxy.Caddy
		return traffic.NewCaddy(traffic.CaddyConfig{
			Admin: c.Admin, Routes: routes, Dir: c.Dir, Runner: e.Host, Dialer: e.Host, Logger: e.Logger,
		})
	}
	return nil, fmt.Errorf("kind %q: must be nginx, caddy or none", e.Env.Proxy.Kind)
}

// composeDir is where rendered compose files live on the host.
func (e *Engine) composeDir() string { return path.Join(e.Store.Path(), "compose") }

// colourCLI is the compose CLI of one colour's project on the host.
func (e *Engine) colourCLI(c version.Colour) compose.CLI {
	cli := e.Compose
	cli.ProjectName = compose.ColourProject(e.App, c)
	cli.Files = []string{path.Join(e.composeDir(), cli.ProjectName+".yml")}
	return cli
}

// sharedCLI is the compose CLI of the shared project.
func (e *Engine) sharedCLI() compose.CLI {
	cli := e.Compose
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
	dir := e.ComposeDir
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
		Dir: dir, ComposeFile: file, Env: vars, Logger: e.Logger,
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
		return e.readHostEnvFile(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read {
		return c.vars, nil
	}
	vars, err := e.readHostEnvFile(ctx)
	if err == nil {
		c.read, c.vars = true, vars
	}
	return vars, err
}

// readHostEnvFile is hostEnvFile without the run's cache.
func (e *Engine) readHostEnvFile(ctx context.Context) ([]string, error) {
	p := e.Env.EnvFile
	if !path.IsAbs(p) {
		p = path.Join(e.Env.Path, p)
	}
	data, err := host.ReadFile(ctx, e.Host, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("environments.%s.env_file: %w", e.Env.Name, err)
	}
	vars, unset, err := compose.ParseEnvFile(data, p)
	if err != nil {
		return nil, fmt.Errorf("environments.%s.env_file: %w", e.Env.Name, err)
	}
	if len(unset) > 0 && e.Logger != nil {
		e.Logger.Warn("the env file on the host refers to variables it does not define; they are empty", "file", p, "variables", unset)
	}
	out := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, k+"="+vars[k])
	}
	return out, nil
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
