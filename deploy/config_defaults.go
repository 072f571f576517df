package deploy

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/health"
)

// This file holds every default of the configuration, in two steps:
// DefaultEnvironment (defaults that stand alone, decoded over by Load) and
// (*Environment).defaults (defaults that depend on other fields, the
// environment's name or variables). The health checks' numbers are not
// restated here: they come from health.BackendPolicy and
// health.FrontendPolicy, the seed's policies, so the library and the
// configuration cannot disagree.

// Defaults other code needs by name.
const (
	// DefaultConfigFile is the configuration file Load reads when
	// DEPLOY_CONFIG is not set.
	DefaultConfigFile = "deploy.yml"
	// DefaultHookTimeout is the default of hooks.after_start[].timeout.
	DefaultHookTimeout = 5 * time.Minute
	// DefaultDeploymentTimeout is the default of timeouts.deployment (see
	// TimeoutsConfig.Deployment for why).
	DefaultDeploymentTimeout = 90 * time.Minute
)

// DefaultSmokeEndpoints is the seed's smoke suite.
func DefaultSmokeEndpoints() []SmokeEndpoint {
	return []SmokeEndpoint{
		{Path: "/api/health/", Expect: []int{200}},
		{Path: "/api/system/readiness/", Expect: []int{200}},
		{Path: "/api/v1/auth/status/", Expect: []int{200, 401}},
		{Path: "/admin/", Expect: []int{200, 302}},
		{Path: "/", Expect: []int{200}},
	}
}

// DefaultEnvironment returns environment name with every default that does
// not depend on other fields (see each field's documentation). Load decodes
// a file's values on top of it.
func DefaultEnvironment(name string) *Environment {
	return &Environment{
		Name: name,
		Host: HostConfig{
			KnownHosts:     "~/.ssh/known_hosts",
			ConnectTimeout: 10 * time.Second,
			Keepalive:      15 * time.Second,
		},
		ComposeFile: "docker-compose.yml",
		EnvFile:     ".env." + name,
		Proxy: ProxyConfig{
			Kind:  "nginx",
			Caddy: CaddyConfig{Admin: "127.0.0.1:2019", Dir: traffic.DefaultCaddyDir},
		},
		Health: HealthConfig{
			Backend:  httpCheckFrom("/api/health/", health.BackendPolicy()),
			Frontend: httpCheckFrom("/", health.FrontendPolicy()),
		},
		Hooks:   HooksConfig{MigrateTimeout: 10 * time.Minute},
		Smoke:   SmokeConfig{Endpoints: DefaultSmokeEndpoints(), Concurrency: 4, Timeout: time.Minute},
		Monitor: MonitorConfig{Window: 5 * time.Minute, Interval: 10 * time.Second, MaxErrors: 3},
		Backup: BackupConfig{Enabled: true, Dir: "backups", Keep: 10,
			Timeout: 10 * time.Minute},
		Notify:   NotifyConfig{Email: EmailConfig{Port: 587}},
		Tests:    TestsConfig{Dir: ".", Timeout: 30 * time.Minute},
		Timeouts: TimeoutsConfig{Deployment: DefaultDeploymentTimeout, Start: 10 * time.Minute, Drain: 10 * time.Second, Notify: 10 * time.Second},
	}
}

// httpCheckFrom is the default check of url under the seed's policy p.
func httpCheckFrom(url string, p health.Policy) HTTPCheck {
	return HTTPCheck{URL: url, Attempts: p.Attempts, Interval: p.Interval, Timeout: p.Timeout,
		AttemptTimeout: p.AttemptTimeout, Expect: []int{200}}
}

// EnvPrefix is the prefix of the environment variables an environment's
// host settings fall back to: "PRODUCTION_" for "production",
// "EU_WEST_" for "eu-west".
func EnvPrefix(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String() + "_"
}

// defaults fills the fields whose defaults depend on the environment, on
// other fields or on variables: host settings from $<ENV>_HOST and friends,
// notification credentials from the seed's variable names, the proxy's
// names, hook and check services. dir is the directory holding the file
// (relative paths start there); home is the home directory for "~/".
func (e *Environment) defaults(app string, getenv func(string) string, dir, home string) {
	e.hostDefaults(getenv)
	e.Host.KnownHosts = localPath(e.Host.KnownHosts, dir, home)
	e.Host.SSHKeyFile = localPath(e.Host.SSHKeyFile, dir, home)
	e.ComposeFile = localPath(e.ComposeFile, dir, home)
	e.Tests.Dir = localPath(e.Tests.Dir, dir, home)

	if e.Proxy.Nginx.UpstreamFile == "" {
		e.Proxy.Nginx.UpstreamFile = "/etc/nginx/blueshift/" + app + "-" + e.Name + ".conf"
	}
	if e.Proxy.Caddy.RouteID == "" {
		e.Proxy.Caddy.RouteID = app + "-" + e.Name
	}
	e.serviceDefaults()
	for i := range e.Smoke.Endpoints {
		if len(e.Smoke.Endpoints[i].Expect) == 0 {
			e.Smoke.Endpoints[i].Expect = []int{200}
		}
	}
	e.notifyDefaults(getenv)
}

// fallback sets *v from getenv(key) when it is empty.
func fallback(v *string, getenv func(string) string, key string) {
	if *v == "" {
		*v = getenv(key)
	}
}

// hostDefaults takes the host's address, user, path and key from
// $<ENV>_HOST, $<ENV>_USER, $<ENV>_PATH and $<ENV>_SSH_KEY when unset.
func (e *Environment) hostDefaults(getenv func(string) string) {
	p := EnvPrefix(e.Name)
	fallback(&e.Host.Address, getenv, p+"HOST")
	fallback(&e.Host.User, getenv, p+"USER")
	fallback(&e.Path, getenv, p+"PATH")
	if e.Host.SSHKey == "" && e.Host.SSHKeyFile == "" {
		e.Host.SSHKey = Secret(getenv(p + "SSH_KEY"))
	}
}

// serviceDefaults names the services hooks, the app dump and the health
// checks run in or are requested on, from services.stateless and ports.
func (e *Environment) serviceDefaults() {
	first := ""
	if len(e.Services.Stateless) > 0 {
		first = e.Services.Stateless[0]
	}
	if e.Hooks.MigrateService == "" {
		e.Hooks.MigrateService = first
	}
	for i := range e.Hooks.AfterStart {
		h := &e.Hooks.AfterStart[i]
		if h.Service == "" {
			h.Service = first
		}
		if h.Timeout == 0 {
			h.Timeout = DefaultHookTimeout
		}
	}
	if e.Backup.AppDump.Service == "" && len(e.Backup.AppDump.Command) > 0 {
		e.Backup.AppDump.Service = first
	}
	e.checkDefaults()
}

// checkDefaults names the services the health checks and smoke endpoints
// run in or are requested on; hooks.migrate_service is set.
func (e *Environment) checkDefaults() {
	if e.Health.Postgres.Service == "" && len(e.Health.Postgres.Command) > 0 {
		e.Health.Postgres.Service = e.Hooks.MigrateService
	}
	if r := &e.Health.Redis; r.Service == "" && r.Addr == "" && slices.Contains(e.Services.Shared, "redis") {
		r.Service = "redis"
	}
	if e.Health.Backend.Service == "" {
		e.Health.Backend.Service = e.portedService("backend", "")
	}
	if e.Health.Frontend.Service == "" {
		e.Health.Frontend.Service = e.portedService("frontend", e.Health.Backend.Service)
	}
	for i := range e.Smoke.Endpoints {
		ep := &e.Smoke.Endpoints[i]
		switch {
		case ep.Service != "":
		case ep.Path == "/" && e.Health.Frontend.Service != "":
			ep.Service = e.Health.Frontend.Service
		default:
			ep.Service = e.Health.Backend.Service
		}
	}
}

// portedService is the default service of a health check: the stateless
// service called name when it has ports, else the first stateless service
// with ports other than not, else "". The checks go to the services that
// publish ports: those are what the proxy sends traffic to.
func (e *Environment) portedService(name, not string) string {
	if _, ok := e.Ports[name]; ok && slices.Contains(e.Services.Stateless, name) {
		return name
	}
	for _, s := range e.Services.Stateless {
		if _, ok := e.Ports[s]; ok && s != not {
			return s
		}
	}
	return ""
}

// notifyDefaults takes the notification credentials from the seed's
// variables (TELEGRAM_*, GITHUB_*) when unset.
func (e *Environment) notifyDefaults(getenv func(string) string) {
	t := &e.Notify.Telegram
	if t.Token == "" {
		t.Token = Secret(getenv("TELEGRAM_BOT_TOKEN"))
	}
	fallback(&t.PublicChat, getenv, "TELEGRAM_PUBLIC_CHAT_ID")
	fallback(&t.LogChat, getenv, "TELEGRAM_LOG_CHAT_ID")
	g := &e.Notify.GitHub
	fallback(&g.Repo, getenv, "GITHUB_REPOSITORY")
	if g.Token == "" && g.Repo != "" {
		g.Token = Secret(getenv("GITHUB_TOKEN"))
	}
	fallback(&g.APIURL, getenv, "GITHUB_API_URL")
	if g.APIURL == "" {
		g.APIURL = "https://api.github.com/"
	}
}

// localPath resolves a path on this machine: "~/" against home, relative
// paths against dir.
func localPath(p, dir, home string) string {
	switch {
	case p == "":
		return ""
	case p == "~" || strings.HasPrefix(p, "~/"):
		if home == "" {
			return p
		}
		return filepath.Join(home, p[1:])
	case filepath.IsAbs(p) || dir == "":
		return p
	}
	return filepath.Join(dir, p)
}
