package deploy

import (
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// This file is the configuration's schema: what deploy.yml may say. Every
// field's doc comment gives its default; config_defaults.go sets them,
// config_validate*.go checks them, and examples/deploy.yml shows them all.

// Config is a blueshift configuration file (deploy.yml): one application and
// the environments it is deployed to. Obtain one with Load or LoadDefault;
// examples/deploy.yml documents every field with its default.
//
// Printing a Config (fmt, slog, JSON, YAML) never shows a secret: every
// secret is a Secret.
type Config struct {
	// App names the application: lowercase letters, digits and dashes,
	// starting and ending with a letter or digit. Required. The colours run
	// as the Compose projects <app>-blue and <app>-green.
	App string `yaml:"app" json:"app"`
	// Environments maps an environment name ("production", "staging", …:
	// lowercase letters, digits, dashes) to where and how it is deployed.
	// At least one is required.
	Environments map[string]*Environment `yaml:"environments" json:"environments"`

	// File is the path the configuration was loaded from ("" when built in
	// code).
	File string `yaml:"-" json:"-"`
	// lines maps field paths to their line in File, for messages.
	lines map[string]int
}

// Environment is one place an application is deployed to. Start from
// DefaultEnvironment when building one in code.
type Environment struct {
	// Name is the environment's key in Config.Environments.
	Name string `yaml:"-" json:"-"`

	// interpolated are the values of secret-looking variables
	// (secretVariable) the file interpolated anywhere, masked by Redactor
	// like Secret fields: ${GITHUB_TOKEN} in a hook's command is as secret
	// as in notify.github.token. A func (nil when there are none), so that
	// printing an Environment shows an address: fmt prints unexported
	// fields raw, whatever their type's methods.
	interpolated func() []string

	// Host is the machine the environment runs on.
	Host HostConfig `yaml:"host" json:"host"`
	// Path is the application's directory on the host (compose file, env
	// file, backups, blueshift's state). Required; absolute. Falls back to
	// $<ENV>_PATH (PRODUCTION_PATH for production).
	Path string `yaml:"path" json:"path"`
	// ComposeFile is the application's Compose file on this machine;
	// relative paths start at the directory holding deploy.yml, and Load
	// makes them absolute. Default "docker-compose.yml".
	ComposeFile string `yaml:"compose_file" json:"compose_file"`
	// EnvFile is the environment file the services read, relative to Path
	// on the host. Default ".env.production" for production, ".env.<name>"
	// otherwise.
	EnvFile string `yaml:"env_file" json:"env_file"`
	// PublicURL is where users reach the application ("https://the-bot.ru"),
	// checked after the switch. Optional; http or https.
	PublicURL string `yaml:"public_url" json:"public_url"`
	// Services says which Compose services get coloured.
	Services ServicesConfig `yaml:"services" json:"services"`
	// Ports maps a stateless service to the loopback ports each colour
	// publishes it on. Default none; required unless proxy.kind is none.
	Ports map[string]PortsConfig `yaml:"ports" json:"ports"`
	// Proxy moves traffic between the colours.
	Proxy ProxyConfig `yaml:"proxy" json:"proxy"`
	// Hooks are commands run in the next colour's containers.
	Hooks HooksConfig `yaml:"hooks" json:"hooks"`
	// Health says how the next colour is checked before the switch.
	Health HealthConfig `yaml:"health" json:"health"`
	// Smoke lists the endpoints requested before and after the switch.
	Smoke SmokeConfig `yaml:"smoke" json:"smoke"`
	// Monitor watches the public URL after the switch.
	Monitor MonitorConfig `yaml:"monitor" json:"monitor"`
	// Standby keeps the old colour's proxied services (those with ports)
	// running, unrouted, this long after a deployment, so that a rollback
	// within it is a proxy switch; its other services stop as usual. A job
	// on the host stops them at the end (and any later run past it does).
	// Default 0: off, the old colour stops at once. Needs a proxy.
	Standby time.Duration `yaml:"standby" json:"standby"`
	// Backup says what is saved before each deployment.
	Backup BackupConfig `yaml:"backup" json:"backup"`
	// Notify says who hears about deployments.
	Notify NotifyConfig `yaml:"notify" json:"notify"`
	// Tests is the test suite run before deploying.
	Tests TestsConfig `yaml:"tests" json:"tests"`
	// Timeouts bound the phases.
	Timeouts TimeoutsConfig `yaml:"timeouts" json:"timeouts"`
	// Registry holds the credentials images are pulled with.
	Registry RegistryConfig `yaml:"registry" json:"registry"`
}

// HostConfig says how to reach the machine an environment runs on.
type HostConfig struct {
	// Address is "local" (this machine, no SSH) or "host[:port]" (SSH, port
	// 22 by default). Required. Falls back to $<ENV>_HOST (PRODUCTION_HOST).
	Address string `yaml:"address" json:"address"`
	// User is the SSH user. Required unless Address is "local". Falls back
	// to $<ENV>_USER (PRODUCTION_USER).
	User string `yaml:"user" json:"user"`
	// SSHKey is a private key in PEM text. Falls back to $<ENV>_SSH_KEY
	// (PRODUCTION_SSH_KEY). At most one of SSHKey and SSHKeyFile.
	SSHKey Secret `yaml:"ssh_key" json:"ssh_key"`
	// SSHKeyFile is a private key file; "~/" is the home directory and
	// relative paths start at the directory holding deploy.yml.
	SSHKeyFile string `yaml:"ssh_key_file" json:"ssh_key_file"`
	// Passphrase decrypts the private key. Optional.
	Passphrase Secret `yaml:"passphrase" json:"passphrase"`
	// UseAgent also offers the keys of the ssh-agent at $SSH_AUTH_SOCK.
	// Default false.
	UseAgent bool `yaml:"use_agent" json:"use_agent"`
	// KnownHosts is the known_hosts file host keys are checked against.
	// Default "~/.ssh/known_hosts".
	KnownHosts string `yaml:"known_hosts" json:"known_hosts"`
	// HostKey pins the host's key ("ssh-ed25519 AAAA…" or "SHA256:…");
	// when set, KnownHosts is not consulted. Optional.
	HostKey string `yaml:"host_key" json:"host_key"`
	// ConnectTimeout bounds connecting and the SSH handshake. Default 10s.
	ConnectTimeout time.Duration `yaml:"connect_timeout" json:"connect_timeout"`
	// Keepalive is the interval of SSH keepalive requests. Default 15s.
	Keepalive time.Duration `yaml:"keepalive" json:"keepalive"`
	// Sessions says how commands run on an SSH host: "shared"
	// (host.SessionsShared) sends them through one long-lived remote
	// shell, one round trip each and no login-shell start-up;
	// "per-command" (host.SessionsPerCommand) opens a session, and so
	// starts the login shell, for each, for servers where the shared shell
	// misbehaves. Default: $BLUESHIFT_SSH_SESSION, else "shared".
	Sessions string `yaml:"sessions" json:"sessions"`
}

// ServicesConfig sorts the Compose file's services.
type ServicesConfig struct {
	// Stateless services run once per colour (web, workers). Required,
	// non-empty.
	Stateless []string `yaml:"stateless" json:"stateless"`
	// Shared services run once for both colours in the project <app>
	// (database, cache) and are never recreated by a deployment. Default
	// none.
	Shared []string `yaml:"shared" json:"shared"`
}

// PortsConfig is where one stateless service listens: its port inside the
// container and the loopback port each colour publishes it on.
type PortsConfig struct {
	// Container is the port the service listens on inside its container.
	Container int `yaml:"container" json:"container"`
	// Blue is the 127.0.0.1 port of the blue colour.
	Blue int `yaml:"blue" json:"blue"`
	// Green is the 127.0.0.1 port of the green colour; differs from Blue.
	Green int `yaml:"green" json:"green"`
}

// Port returns the loopback port of colour c, 0 for the zero Colour.
func (p PortsConfig) Port(c version.Colour) int {
	switch c {
	case version.Blue:
		return p.Blue
	case version.Green:
		return p.Green
	}
	return 0
}

// ProxyConfig is the reverse proxy in front of the colours.
type ProxyConfig struct {
	// Kind is "nginx", "caddy" or "none" (traffic is not switched by
	// blueshift). Default "nginx".
	Kind string `yaml:"kind" json:"kind"`
	// Nginx configures Kind nginx.
	Nginx NginxConfig `yaml:"nginx" json:"nginx"`
	// Caddy configures Kind caddy.
	Caddy CaddyConfig `yaml:"caddy" json:"caddy"`
	// VersionHeader, if set, is a response header naming the colour that
	// served a request ("X-Blueshift-Colour"): after the switch, the
	// public URL must answer with the new colour in it, as well. Default
	// none: the proxy itself proves the switch (nginx's colour server,
	// Caddy's loaded route), so the application need not say anything.
	VersionHeader string `yaml:"version_header" json:"version_header"`
}

// NginxConfig says where blueshift writes nginx's upstreams.
type NginxConfig struct {
	// UpstreamFile is the file holding the upstream blocks, included by the
	// site's configuration. Absolute. Default
	// "/etc/nginx/blueshift/<app>-<env>.conf".
	UpstreamFile string `yaml:"upstream_file" json:"upstream_file"`
	// Container is the container nginx runs in; empty means nginx runs on
	// the host. Default "".
	Container string `yaml:"container" json:"container"`
	// Command invokes nginx (on the host, or inside container), before the
	// "-t" and "-s reload" arguments blueshift adds. Default [nginx]; for
	// example [sudo, -n, nginx] for a deploy user without root.
	Command []string `yaml:"command" json:"command"`
	// ColourListen is the loopback address of the server blueshift adds to
	// the upstream file, answering the colour nginx has loaded: the switch
	// is verified by reading it. Default "127.0.0.1:<port>", a port in
	// 20000-29999 from the app and the upstream file; "off" for none (the
	// default with container, where 127.0.0.1 is the container's).
	ColourListen string `yaml:"colour_listen" json:"colour_listen"`
}

// CaddyConfig says how blueshift switches Caddy: by colour files in Dir
// that Caddy's route checks on every request (traffic.CaddyRouteHandler),
// never by changing Caddy's configuration, which would reload it.
type CaddyConfig struct {
	// Admin is the admin API's address on the host, read to check that
	// Caddy's configuration routes by the colour files. Default
	// "127.0.0.1:2019".
	Admin string `yaml:"admin" json:"admin"`
	// RouteID is the @id of the route's subroute handler. Default
	// "<app>-<env>".
	RouteID string `yaml:"route_id" json:"route_id"`
	// Dir is the directory on the host holding a directory per route with
	// the live colour's file; Caddy must see it at the same path. Absolute.
	// Default "/etc/caddy/blueshift".
	Dir string `yaml:"dir" json:"dir"`
}

// HooksConfig holds commands run in the next colour before it gets
// traffic.
type HooksConfig struct {
	// Migrate is the argv of the database migration, run once in
	// MigrateService of the next colour after it started (["python",
	// "manage.py", "migrate", "--noinput"]). Default none.
	Migrate []string `yaml:"migrate" json:"migrate"`
	// MigrateService is the service Migrate runs in. Default: the first
	// stateless service.
	MigrateService string `yaml:"migrate_service" json:"migrate_service"`
	// MigrateTimeout bounds Migrate; a migration still running then fails
	// the deployment (and is rolled back). Default 10m.
	MigrateTimeout time.Duration `yaml:"migrate_timeout" json:"migrate_timeout"`
	// AfterStart are further commands run in order after Migrate
	// (["python", "manage.py", "collectstatic", "--noinput"]). Default none.
	AfterStart []Hook `yaml:"after_start" json:"after_start"`
}

// Hook is an after-start command: an argv run in one service's container
// of the next colour, within its own time bound.
type Hook struct {
	// Service is the Compose service to run in. Default: the first
	// stateless service.
	Service string `yaml:"service" json:"service"`
	// Command is the argv. Required.
	Command []string `yaml:"command" json:"command"`
	// Timeout bounds the command. Default 5m.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

// Command is an argv run in one service's container.
type Command struct {
	// Service is the Compose service to run in. Default: the first
	// stateless service.
	Service string `yaml:"service" json:"service"`
	// Command is the argv. Required.
	Command []string `yaml:"command" json:"command"`
}

// HealthConfig says how the next colour is checked before the switch.
type HealthConfig struct {
	// Backend is the main health check (seed: GET /api/health/ 30 × 10s
	// within 5m).
	Backend HTTPCheck `yaml:"backend" json:"backend"`
	// Frontend is a second check (seed: GET / 10 × 5s). It runs when its
	// Service is set (default "frontend" when that is a stateless service)
	// or its URL is absolute.
	Frontend HTTPCheck `yaml:"frontend" json:"frontend"`
	// Postgres is checked with a connection and SELECT 1. Optional.
	Postgres PostgresCheck `yaml:"postgres" json:"postgres"`
	// Redis is checked with PING. Optional.
	Redis RedisCheck `yaml:"redis" json:"redis"`
}

// HTTPCheck is an HTTP health check retried until it passes.
type HTTPCheck struct {
	// URL is a path ("/api/health/") requested on the colour's own
	// loopback port of Service, or an absolute http(s) URL. Default
	// "/api/health/" for backend, "/" for frontend.
	URL string `yaml:"url" json:"url"`
	// Service is the stateless service whose port a path URL is requested
	// on. Default for backend: "backend" when that is a stateless service,
	// else the first stateless service with ports; for frontend:
	// "frontend" when that is a stateless service, else none.
	Service string `yaml:"service" json:"service"`
	// Attempts is the most attempts made. Default 30 (backend), 10
	// (frontend).
	Attempts int `yaml:"attempts" json:"attempts"`
	// Interval is the pause between attempts. Default 10s (backend), 5s
	// (frontend).
	Interval time.Duration `yaml:"interval" json:"interval"`
	// Timeout bounds all attempts together. Default 5m.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// AttemptTimeout bounds one request. Default the interval: 10s
	// (backend), 5s (frontend).
	//
	// The defaults of Attempts, Interval, Timeout and AttemptTimeout are
	// health.BackendPolicy's and health.FrontendPolicy's, the seed's.
	AttemptTimeout time.Duration `yaml:"attempt_timeout" json:"attempt_timeout"`
	// Expect lists the statuses that pass. Default [200].
	Expect []int `yaml:"expect" json:"expect"`
	// Checks are the request headers and body assertions. Default none.
	Checks `yaml:",inline" json:",inline"`
}

// Checks are what a health or smoke request sends beyond its path and
// what its answer must hold beyond its status.
type Checks struct {
	// Headers are sent with each request ({Host: the-bot.ru,
	// X-Forwarded-Proto: https}, for an app that redirects plain HTTP);
	// Host replaces the public URL's host. Default none.
	Headers map[string]string `yaml:"headers" json:"headers"`
	// BodyContains, if set, must occur in the response body. Default none.
	BodyContains string `yaml:"body_contains" json:"body_contains"`
	// JSON maps dotted paths into the JSON response body to the values
	// they must have, spelt as in JSON: {status: ok, checks.database:
	// "true"}. Default none; not with BodyContains.
	JSON map[string]string `yaml:"json" json:"json"`
}

// Enabled reports whether the check runs.
func (c HTTPCheck) Enabled() bool { return c.URL != "" && (c.Service != "" || isAbsURL(c.URL)) }

// PostgresCheck checks the database the application uses: in a container
// of the next colour, with its own settings (Command), and/or from the
// host (DSN).
type PostgresCheck struct {
	// Command is run in Service's container of the next colour and must
	// exit 0: the application reaching its database with its own settings
	// ([python, manage.py, check, --database, default] for Django). Empty
	// disables it. Default none.
	Command []string `yaml:"command" json:"command"`
	// Service is the stateless service Command runs in. Default
	// hooks.migrate_service.
	Service string `yaml:"service" json:"service"`
	// DSN is a connection string as seen from the host
	// ("postgres://user:pass@127.0.0.1:5432/db", e.g. "${DATABASE_URL}"),
	// checked with a connection and SELECT 1. Empty disables the check.
	DSN Secret `yaml:"dsn" json:"dsn"`
}

// RedisCheck checks the cache the application uses: `redis-cli ping` in
// the shared redis container, and/or PING from the host (Addr).
type RedisCheck struct {
	// Service is the shared service `redis-cli ping` runs in (it must
	// answer PONG). Default "redis" when that is a shared service and Addr
	// is empty; "none" disables it.
	Service string `yaml:"service" json:"service"`
	// Addr is host:port as seen from the host ("127.0.0.1:6379"). Empty
	// disables the check.
	Addr string `yaml:"addr" json:"addr"`
	// Password authenticates to Redis. Optional.
	Password Secret `yaml:"password" json:"password"`
}

// SmokeConfig is the smoke suite: critical endpoints requested once each.
type SmokeConfig struct {
	// Endpoints are requested on the next colour before the switch and on
	// PublicURL after it. Any 5xx fails. Default the seed's list:
	// /api/health/ [200], /api/system/readiness/ [200],
	// /api/v1/auth/status/ [200, 401], /admin/ [200, 302], / [200]. An
	// empty list disables smoke tests.
	Endpoints []SmokeEndpoint `yaml:"endpoints" json:"endpoints"`
	// Concurrency is how many requests run at once. Default 4.
	Concurrency int `yaml:"concurrency" json:"concurrency"`
	// Timeout bounds the suite run on the next colour before the switch
	// (each request is bounded by 10s as well). Default 1m.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Headers are sent with every endpoint's request ({X-Forwarded-Proto:
	// https}). Default none.
	Headers map[string]string `yaml:"headers" json:"headers"`
}

// SmokeEndpoint is one smoke-tested path and the statuses that pass.
type SmokeEndpoint struct {
	// Path starts with "/". Required.
	Path string `yaml:"path" json:"path"`
	// Expect lists passing statuses. Default [200].
	Expect []int `yaml:"expect" json:"expect"`
	// Service is the stateless service whose colour port the path is
	// requested on before the switch (after it, every path goes to the
	// public URL). Default health.backend.service, except "/", which goes
	// to health.frontend.service when there is one (a frontend serves /).
	Service string `yaml:"service" json:"service"`
	// Checks are the request headers and body assertions, added over
	// smoke.headers. Default none.
	Checks `yaml:",inline" json:",inline"`
}

// MonitorConfig is the stability watch after the switch.
type MonitorConfig struct {
	// Window is how long the new colour is watched. Default 5m.
	Window time.Duration `yaml:"window" json:"window"`
	// Interval is the pause between probes. Default 10s.
	Interval time.Duration `yaml:"interval" json:"interval"`
	// MaxErrors is how many failed probes are tolerated; one more rolls
	// back. Default 3.
	MaxErrors int `yaml:"max_errors" json:"max_errors"`
}

// BackupConfig says what is saved before each deployment.
type BackupConfig struct {
	// Enabled turns pre-deployment backups on. Default true.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Dir is where backups are written, relative to Path. Default
	// "backups".
	Dir string `yaml:"dir" json:"dir"`
	// Keep is how many complete backups are kept. Default 10.
	Keep int `yaml:"keep" json:"keep"`
	// Postgres is the database dumped with pg_dump. Optional.
	Postgres BackupPostgres `yaml:"postgres" json:"postgres"`
	// Media is the directory or volume archived with tar. Optional.
	Media BackupMedia `yaml:"media" json:"media"`
	// AppDump is a command whose standard output is saved (the seed's
	// ["python", "manage.py", "dumpdata"]). Optional.
	AppDump Command `yaml:"app_dump" json:"app_dump"`
	// Timeout bounds writing the backup (every source); a backup still
	// running then fails the deployment before anything changed. Default
	// 10m (the seed plans 5 minutes for its backup).
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

// BackupPostgres is the database to dump: in a container of the shared
// project (Service) or reached with a DSN, not both.
type BackupPostgres struct {
	// Service is the shared Compose service running PostgreSQL; pg_dump
	// runs inside its container.
	Service string `yaml:"service" json:"service"`
	// DSN is a connection string for pg_dump on the host.
	DSN Secret `yaml:"dsn" json:"dsn"`
	// Database is the database name, with Service. Default the service's
	// POSTGRES_DB in the compose file (its environment or env_file), else
	// the user, as the official postgres image reads them. Required with
	// DSN, in the DSN.
	Database string `yaml:"database" json:"database"`
	// User is the database role used with Service. Default the service's
	// POSTGRES_USER in the compose file, else "postgres".
	User string `yaml:"user" json:"user"`
}

// Enabled reports whether a database dump is configured.
func (p BackupPostgres) Enabled() bool { return p.Service != "" || p.DSN != "" }

// BackupMedia is the media to archive: a named Docker volume or a host
// directory, not both.
type BackupMedia struct {
	// Volume is a Docker volume name ("<app>_media").
	Volume string `yaml:"volume" json:"volume"`
	// Path is a directory on the host, relative to Path or absolute.
	Path string `yaml:"path" json:"path"`
}

// NotifyConfig says who hears about deployments. Each channel is used when
// its required fields are set.
type NotifyConfig struct {
	// Telegram announces to chats; default on when $TELEGRAM_BOT_TOKEN is set.
	Telegram TelegramConfig `yaml:"telegram" json:"telegram"`
	// GitHub records deployments; default on when $GITHUB_TOKEN and the
	// repository ($GITHUB_REPOSITORY) are known.
	GitHub GitHubConfig `yaml:"github" json:"github"`
	// Email sends mail; default off.
	Email EmailConfig `yaml:"email" json:"email"`
	// Webhook posts JSON; default off.
	Webhook WebhookConfig `yaml:"webhook" json:"webhook"`
}

// TelegramConfig posts to Telegram chats through a bot.
type TelegramConfig struct {
	// Token is the bot token. Falls back to $TELEGRAM_BOT_TOKEN. Empty
	// disables Telegram.
	Token Secret `yaml:"token" json:"token"`
	// PublicChat receives every announcement; required with Token. Falls
	// back to $TELEGRAM_PUBLIC_CHAT_ID.
	PublicChat string `yaml:"public_chat" json:"public_chat"`
	// LogChat receives failures and rollbacks with details. Falls back to
	// $TELEGRAM_LOG_CHAT_ID. Optional.
	LogChat string `yaml:"log_chat" json:"log_chat"`
}

// Enabled reports whether Telegram is configured.
func (t TelegramConfig) Enabled() bool { return t.Token != "" }

// GitHubConfig records deployments and their statuses on GitHub.
type GitHubConfig struct {
	// Token is a GitHub token allowed to create deployments. Falls back to
	// $GITHUB_TOKEN when Repo is known. Empty disables GitHub.
	Token Secret `yaml:"token" json:"token"`
	// Repo is "owner/name"; required with Token. Falls back to
	// $GITHUB_REPOSITORY.
	Repo string `yaml:"repo" json:"repo"`
	// APIURL is the API's base URL. Falls back to $GITHUB_API_URL, then
	// "https://api.github.com/". It must be https (the token goes with every
	// request); http is accepted only for a loopback host (127.0.0.1, ::1,
	// localhost), for local test servers.
	APIURL string `yaml:"api_url" json:"api_url"`
	// CommitStatuses also sets a commit status on the deployed commit,
	// context "blueshift/<environment>" (pending, success, failure), for
	// pull-request checks and branch protection; the token then needs the
	// statuses: write permission. Default false.
	CommitStatuses bool `yaml:"commit_statuses" json:"commit_statuses"`
}

// Enabled reports whether GitHub is configured.
func (g GitHubConfig) Enabled() bool { return g.Token != "" }

// EmailConfig sends mail through an SMTP relay (STARTTLS required when a
// password is set).
type EmailConfig struct {
	// Host is the SMTP relay. Empty disables email.
	Host string `yaml:"host" json:"host"`
	// Port is the submission port. Default 587.
	Port int `yaml:"port" json:"port"`
	// Username authenticates to the relay. Optional.
	Username string `yaml:"username" json:"username"`
	// Password authenticates to the relay. Optional.
	Password Secret `yaml:"password" json:"password"`
	// From is the sender address; required with Host.
	From string `yaml:"from" json:"from"`
	// To lists the recipients; required with Host.
	To []string `yaml:"to" json:"to"`
}

// Enabled reports whether email is configured.
func (e EmailConfig) Enabled() bool { return e.Host != "" }

// WebhookConfig posts each event as JSON.
type WebhookConfig struct {
	// URL receives a POST per event (a Slack-compatible "text" included).
	// A secret because such URLs usually carry a token. Empty disables it.
	URL Secret `yaml:"url" json:"url"`
}

// Enabled reports whether the webhook is configured.
func (w WebhookConfig) Enabled() bool { return w.URL != "" }

// TestsConfig is the test suite run before deploying (skippable in an
// emergency).
type TestsConfig struct {
	// Command is the argv run locally ("go", "test", "./..."). Empty
	// disables the phase.
	Command []string `yaml:"command" json:"command"`
	// Dir is the directory it runs in; relative paths start at the
	// directory holding deploy.yml, and Load makes them absolute. Default
	// ".".
	Dir string `yaml:"dir" json:"dir"`
	// Timeout bounds the suite. Default 30m (the seed's test phase).
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Env names further variables of blueshift's environment the command
	// sees ([DATABASE_URL_TEST]). The command never inherits the whole
	// environment, which holds the deployment's secrets (SSH key, tokens,
	// passwords): it gets only the variables in TestEnvAllowed and those
	// named here. Its output is masked by Environment.Redactor either way.
	// Default none.
	Env []string `yaml:"env" json:"env"`
}

// TestEnvAllowed are the variables the test command gets from blueshift's
// environment without being named in tests.env: what a shell, a compiler,
// Docker and a CI-aware test runner need, and GitHub's non-secret run
// context. GITHUB_TOKEN and every other credential are left out.
var TestEnvAllowed = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "TMPDIR",
	"LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
	"XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR",
	"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG",
	"GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY",
	"CI", "GITHUB_ACTIONS", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REF_NAME",
	"GITHUB_REF_TYPE", "GITHUB_HEAD_REF", "GITHUB_BASE_REF", "GITHUB_REPOSITORY",
	"GITHUB_RUN_ID", "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT", "GITHUB_WORKFLOW",
	"GITHUB_JOB", "GITHUB_ACTOR", "GITHUB_EVENT_NAME", "GITHUB_WORKSPACE",
	"GITHUB_SERVER_URL", "RUNNER_OS", "RUNNER_ARCH", "RUNNER_TEMP",
}

// TimeoutsConfig bounds the phases of a deployment. Each phase that can
// wait has its own bound (tests.timeout, backup.timeout, timeouts.start,
// hooks.migrate_timeout, hooks.after_start[].timeout, health.*.timeout,
// smoke.timeout, monitor.window, timeouts.drain); Deployment bounds them
// all, and preflight refuses a configuration whose bounds add up to more.
type TimeoutsConfig struct {
	// Deployment is the deadline of a whole deployment, from taking the
	// lock to the end of the monitor and retiring the old colour: a run
	// still going then fails in the phase it reached and is rolled back
	// like any failure. Rolling back (up to 10m), recording, notifying and
	// unlocking (up to 2m each) have their own budgets after it: a CI job
	// running blueshift needs a timeout above the sum. Default 90m: the seed's own policy
	// (tests up to 30 minutes, health checks up to 5, a 5-minute monitor)
	// with the default bounds of the other phases (backup 10m, start 10m,
	// migration 10m, an after-start hook 5m, smoke 1m) adds up to about 80
	// minutes for examples/deploy.yml, more than the seed's 600 s; 90m
	// leaves room without letting a stuck run hold the lock for hours.
	Deployment time.Duration `yaml:"deployment" json:"deployment"`
	// Start bounds starting the next colour: rendering, pulling its images
	// and starting its containers (and shared services that are absent).
	// Default 10m.
	Start time.Duration `yaml:"start" json:"start"`
	// Drain is how long the old colour keeps serving requests in flight
	// after the switch before it is stopped. Default 10s.
	Drain time.Duration `yaml:"drain" json:"drain"`
	// Notify bounds each notification. Default 10s.
	Notify time.Duration `yaml:"notify" json:"notify"`
}

// RegistryConfig holds the credentials images are pulled with.
type RegistryConfig struct {
	// Username for the registry. Optional.
	Username string `yaml:"username" json:"username"`
	// Password or token ("${GHCR_TOKEN}"); requires Username.
	Password Secret `yaml:"password" json:"password"`
}
