package deploy

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/notify"
)

// DefaultConfigFile is the configuration file Load reads when DEPLOY_CONFIG
// is not set.
const DefaultConfigFile = "deploy.yml"

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
}

// IsLocal reports whether the environment runs on this machine.
func (h HostConfig) IsLocal() bool { return h.Address == "local" }

// SSHConfig returns the settings host.NewSSH connects with; the handshake
// is bounded by ConnectTimeout as well. logger nil discards.
func (h HostConfig) SSHConfig(logger *slog.Logger) host.SSHConfig {
	c := host.SSHConfig{
		Addr:              h.Address,
		User:              h.User,
		PrivateKeyFile:    h.SSHKeyFile,
		Passphrase:        h.Passphrase.Reveal(),
		UseAgent:          h.UseAgent,
		KnownHostsFile:    h.KnownHosts,
		PinnedHostKey:     h.HostKey,
		ConnectTimeout:    h.ConnectTimeout,
		HandshakeTimeout:  h.ConnectTimeout,
		KeepaliveInterval: h.Keepalive,
		Logger:            logger,
	}
	if h.SSHKey != "" {
		c.PrivateKeyPEM = []byte(h.SSHKey.Reveal())
	}
	return c
}

// Connect reaches the host: host.NewLocal for "local", host.NewSSH
// otherwise. The caller closes the returned Host. logger nil discards.
func (h HostConfig) Connect(ctx context.Context, logger *slog.Logger) (host.Host, error) {
	if h.IsLocal() {
		return host.NewLocal(), nil
	}
	c, err := host.NewSSH(ctx, h.SSHConfig(logger))
	if err != nil {
		return nil, fmt.Errorf("connect to %s@%s: %w", h.User, h.Address, err)
	}
	return c, nil
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

// Port returns the loopback port of colour c ("blue" or "green"), 0 for
// anything else.
func (p PortsConfig) Port(c string) int {
	switch c {
	case "blue":
		return p.Blue
	case "green":
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
	// VersionHeader is the response header naming the colour that served a
	// request, used to verify a switch. Default "X-Blueshift-Colour"; empty
	// disables the check.
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
	// AttemptTimeout bounds one request. Default 5s.
	AttemptTimeout time.Duration `yaml:"attempt_timeout" json:"attempt_timeout"`
	// Expect lists the statuses that pass. Default [200].
	Expect []int `yaml:"expect" json:"expect"`
}

// Enabled reports whether the check runs.
func (c HTTPCheck) Enabled() bool { return c.URL != "" && (c.Service != "" || isAbsURL(c.URL)) }

// PostgresCheck checks the database the application uses.
type PostgresCheck struct {
	// DSN is a connection string as seen from the host
	// ("postgres://user:pass@127.0.0.1:5432/db", e.g. "${DATABASE_URL}").
	// Empty disables the check.
	DSN Secret `yaml:"dsn" json:"dsn"`
}

// RedisCheck checks the cache the application uses.
type RedisCheck struct {
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
}

// SmokeEndpoint is one smoke-tested path and the statuses that pass.
type SmokeEndpoint struct {
	// Path starts with "/". Required.
	Path string `yaml:"path" json:"path"`
	// Expect lists passing statuses. Default [200].
	Expect []int `yaml:"expect" json:"expect"`
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
	// Database is the database name; required with Service.
	Database string `yaml:"database" json:"database"`
	// User is the database role used with Service. Default "postgres".
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

// Secret is a configuration value that must never be shown: every way of
// printing it (fmt, slog, JSON, YAML) gives "***", or "" when it is empty.
// Reveal returns the value for the code that needs it.
type Secret string

const mask = "***"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "***" ("" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return mask
}

// Format prints the masked form for every verb, so %v, %s, %q, %x and %#v
// never show the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(s.String()))
		return
	}
	fmt.Fprint(f, s.String())
}

// GoString returns the masked form.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the masked form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes the masked form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText writes the masked form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// DefaultHookTimeout is the default of hooks.after_start[].timeout.
const DefaultHookTimeout = 5 * time.Minute

// DefaultDeploymentTimeout is the default of timeouts.deployment (see
// TimeoutsConfig.Deployment for why).
const DefaultDeploymentTimeout = 90 * time.Minute

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
	envFile := ".env." + name
	return &Environment{
		Name: name,
		Host: HostConfig{
			KnownHosts:     "~/.ssh/known_hosts",
			ConnectTimeout: 10 * time.Second,
			Keepalive:      15 * time.Second,
		},
		ComposeFile: "docker-compose.yml",
		EnvFile:     envFile,
		Proxy: ProxyConfig{
			Kind:          "nginx",
			Caddy:         CaddyConfig{Admin: "127.0.0.1:2019", Dir: traffic.DefaultCaddyDir},
			VersionHeader: "X-Blueshift-Colour",
		},
		Health: HealthConfig{
			Backend: HTTPCheck{URL: "/api/health/", Attempts: 30, Interval: 10 * time.Second,
				Timeout: 5 * time.Minute, AttemptTimeout: 5 * time.Second, Expect: []int{200}},
			Frontend: HTTPCheck{URL: "/", Attempts: 10, Interval: 5 * time.Second,
				Timeout: 5 * time.Minute, AttemptTimeout: 5 * time.Second, Expect: []int{200}},
		},
		Hooks:   HooksConfig{MigrateTimeout: 10 * time.Minute},
		Smoke:   SmokeConfig{Endpoints: DefaultSmokeEndpoints(), Concurrency: 4, Timeout: time.Minute},
		Monitor: MonitorConfig{Window: 5 * time.Minute, Interval: 10 * time.Second, MaxErrors: 3},
		Backup: BackupConfig{Enabled: true, Dir: "backups", Keep: 10,
			Postgres: BackupPostgres{User: "postgres"}, Timeout: 10 * time.Minute},
		Notify:   NotifyConfig{Email: EmailConfig{Port: 587}},
		Tests:    TestsConfig{Dir: ".", Timeout: 30 * time.Minute},
		Timeouts: TimeoutsConfig{Deployment: DefaultDeploymentTimeout, Start: 10 * time.Minute, Drain: 10 * time.Second, Notify: 10 * time.Second},
	}
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
	p := EnvPrefix(e.Name)
	fallback := func(v *string, key string) {
		if *v == "" {
			*v = getenv(key)
		}
	}
	fallback(&e.Host.Address, p+"HOST")
	fallback(&e.Host.User, p+"USER")
	fallback(&e.Path, p+"PATH")
	if e.Host.SSHKey == "" && e.Host.SSHKeyFile == "" {
		e.Host.SSHKey = Secret(getenv(p + "SSH_KEY"))
	}
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

	first := ""
	if len(e.Services.Stateless) > 0 {
		first = e.Services.Stateless[0]
	}
	if e.Hooks.MigrateService == "" {
		e.Hooks.MigrateService = first
	}
	for i := range e.Hooks.AfterStart {
		if e.Hooks.AfterStart[i].Service == "" {
			e.Hooks.AfterStart[i].Service = first
		}
		if e.Hooks.AfterStart[i].Timeout == 0 {
			e.Hooks.AfterStart[i].Timeout = DefaultHookTimeout
		}
	}
	if e.Backup.AppDump.Service == "" && len(e.Backup.AppDump.Command) > 0 {
		e.Backup.AppDump.Service = first
	}
	if e.Health.Backend.Service == "" {
		if slices.Contains(e.Services.Stateless, "backend") {
			e.Health.Backend.Service = "backend"
		} else {
			for _, s := range e.Services.Stateless {
				if _, ok := e.Ports[s]; ok {
					e.Health.Backend.Service = s
					break
				}
			}
		}
	}
	if e.Health.Frontend.Service == "" && slices.Contains(e.Services.Stateless, "frontend") {
		e.Health.Frontend.Service = "frontend"
	}

	for i := range e.Smoke.Endpoints {
		if len(e.Smoke.Endpoints[i].Expect) == 0 {
			e.Smoke.Endpoints[i].Expect = []int{200}
		}
	}

	t := &e.Notify.Telegram
	if t.Token == "" {
		t.Token = Secret(getenv("TELEGRAM_BOT_TOKEN"))
	}
	fallback(&t.PublicChat, "TELEGRAM_PUBLIC_CHAT_ID")
	fallback(&t.LogChat, "TELEGRAM_LOG_CHAT_ID")
	g := &e.Notify.GitHub
	fallback(&g.Repo, "GITHUB_REPOSITORY")
	if g.Token == "" && g.Repo != "" {
		g.Token = Secret(getenv("GITHUB_TOKEN"))
	}
	fallback(&g.APIURL, "GITHUB_API_URL")
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

// ErrUnknownEnvironment is wrapped by Env's error for a name the
// configuration does not define.
var ErrUnknownEnvironment = errors.New("unknown environment")

// Env returns the environment called name.
func (c *Config) Env(name string) (*Environment, error) {
	if e, ok := c.Environments[name]; ok && e != nil {
		return e, nil
	}
	known := c.EnvNames()
	if len(known) == 0 {
		return nil, fmt.Errorf("%w %q: the configuration defines no environments", ErrUnknownEnvironment, name)
	}
	return nil, fmt.Errorf("%w %q: known environments are %s", ErrUnknownEnvironment, name, strings.Join(known, ", "))
}

// EnvNames returns the environments' names, sorted.
func (c *Config) EnvNames() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MaskedYAML renders the resolved configuration (defaults applied,
// variables expanded) as YAML with every secret shown as "***".
func (c *Config) MaskedYAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	return buf.Bytes(), nil
}

// LoadDefault loads the file named by $DEPLOY_CONFIG, or deploy.yml in the
// working directory when it is unset. getenv nil means os.Getenv.
func LoadDefault(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	path := getenv("DEPLOY_CONFIG")
	if path == "" {
		path = DefaultConfigFile
	}
	return Load(path, getenv)
}

// Load reads, expands, defaults and validates the configuration in path.
// ${VAR} and ${VAR:-default} in values are replaced using getenv (nil
// means os.Getenv); "$$" is a literal "$". Unknown keys, values of the wrong
// type, variables that are not set and failed validation are all reported
// together in a *ValidationError, one line per problem, each starting with
// the field's path.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load configuration: %s does not exist: create it (examples/deploy.yml documents every field) or point DEPLOY_CONFIG at it: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("load configuration %s: %w", path, err)
	}
	c, err := parse(data, getenv, dir, home)
	if err == nil {
		c.File = path
		err = c.Validate()
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return nil, fmt.Errorf("configuration %s is invalid:\n%w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load configuration %s: %w", path, err)
	}
	return c, nil
}

// parse decodes data onto defaults and applies the dependent defaults.
func parse(data []byte, getenv func(string) string, dir, home string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if n := tabIndentedLine(data); n > 0 {
			return nil, fmt.Errorf("parse YAML: %w (line %d is indented with a tab: YAML indents with spaces only)", err, n)
		}
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	c := &Config{}
	d := &decoder{getenv: getenv, lines: map[string]int{}}
	if len(root.Content) > 0 {
		d.decode(root.Content[0], reflect.ValueOf(c).Elem(), "")
	}
	if len(d.problems) > 0 {
		return nil, &ValidationError{Problems: d.problems}
	}
	c.lines = d.lines
	for _, e := range c.Environments {
		e.defaults(c.App, getenv, dir, home)
	}
	return c, nil
}

// tabIndentedLine is the number of the first line of data whose
// indentation holds a tab, 0 when none does.
func tabIndentedLine(data []byte) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 && len(bytes.TrimSpace(line)) > 0 {
			return i + 1
		}
	}
	return 0
}

// ErrInvalidConfig is wrapped by *ValidationError.
var ErrInvalidConfig = errors.New("invalid configuration")

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	Problems []*FieldError
}

// Error prints one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes errors.Is(err, ErrInvalidConfig) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidConfig }

// FieldError is one problem with one field.
type FieldError struct {
	// Path is the field's path ("environments.production.health.backend.interval").
	Path string
	// Msg says what is wrong and what to do.
	Msg string
	// Line is the field's line in the file, 0 when unknown.
	Line int
}

func (e *FieldError) Error() string {
	s := e.Path + ": " + e.Msg
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	return s
}

// decoder decodes a YAML node tree onto Go values, expanding variables and
// collecting problems with their field paths. It is strict: unknown keys,
// duplicate keys and values of the wrong kind are problems.
type decoder struct {
	getenv   func(string) string
	lines    map[string]int
	problems []*FieldError
	// values counts the nodes decoded, each alias's target once per use;
	// aliases counts the uses. See maxDecodedValues.
	values, aliases int
	tooBig          bool
}

// maxDecodedValues bounds the values a configuration may decode to. YAML
// aliases (*name) repeat what an anchor (&name) holds, so a few kilobytes
// of nested aliases ("billion laughs") expand to billions of values; the
// decoder stops at this bound instead of spending minutes and gigabytes.
// The example deploy.yml decodes to about 200 values; a file with twenty
// environments stays far below the bound.
const maxDecodedValues = 20000

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if path == "" {
		path = "(document)"
	}
	d.problems = append(d.problems, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Line: n.Line})
}

var (
	durationType        = reflect.TypeOf(time.Duration(0))
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.tooBig {
		return
	}
	if n.Kind == yaml.AliasNode {
		d.aliases++
		n = n.Alias
	}
	if d.values++; d.values > maxDecodedValues {
		d.tooBig = true
		how := fmt.Sprintf("expands to more than %d values through %d uses of YAML aliases (*name): refusing it, as a \"billion laughs\" document would take minutes and gigabytes to decode; write the values out instead of nesting aliases", maxDecodedValues, d.aliases)
		if d.aliases == 0 {
			how = fmt.Sprintf("has more than %d values; a deploy.yml is far smaller: is this the right file?", maxDecodedValues)
		}
		d.problems = nil // the problems so far repeat themselves through the aliases
		d.fail(n, "(document)", "%s", how)
		return
	}
	if _, ok := d.lines[path]; !ok && path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with no value keeps the default
	}
	switch {
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
	case v.Kind() == reflect.Map:
		d.decodeMap(n, v, path)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "must be a list, not %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of keys to values, not %s", describe(n))
		return
	}
	fields := map[string]int{}
	var names []string
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if seen[k.Value] {
			d.fail(k, p, "defined twice")
			continue
		}
		seen[k.Value] = true
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k, p, "unknown field%s", suggest(k.Value, names))
			continue
		}
		d.lines[p] = k.Line
		d.decode(val, v.Field(idx), p)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of names to values, not %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if seen[k.Value] {
			d.fail(k, p, "defined twice")
			continue
		}
		seen[k.Value] = true
		key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
		elem := reflect.New(v.Type().Elem()).Elem()
		if env, ok := elem.Interface().(*Environment); ok && env == nil {
			elem = reflect.ValueOf(DefaultEnvironment(k.Value))
		}
		d.lines[p] = k.Line
		d.decode(val, elem, p)
		v.SetMapIndex(key, elem)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be a single value, not %s", describe(n))
		return
	}
	s, err := expand(n.Value, d.getenv)
	if err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		if err != nil {
			hint := ""
			if _, aerr := strconv.Atoi(s); aerr == nil {
				hint = ` (add a unit: "` + s + `s")`
			}
			d.fail(n, path, "invalid duration %q: want a number with a unit such as 10s, 5m or 1h30m%s", s, hint)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			d.fail(n, path, "must be a whole number, not %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.fail(n, path, "must be true or false, not %q", s)
		}
	default:
		d.fail(n, path, "cannot hold a value of type %s", v.Type())
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// suggest names the known field closest to an unknown one, or lists them.
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return "; known fields: " + strings.Join(known, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${VAR} and ${VAR:-default} using getenv; "$$" is a
// literal "$" and any other "$" is kept. A variable that is empty or unset
// without a default is an error naming it (never its value).
func expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q: close it with }", s)
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !varName.MatchString(name) {
			return "", fmt.Errorf("${%s}: %q is not a variable name (letters, digits, _; write $$ for a literal $)", expr, name)
		}
		val := getenv(name)
		if val == "" {
			if !hasDef {
				return "", fmt.Errorf("environment variable %s is not set (referenced as ${%s}; set it, or write ${%s:-default} to allow a default)", name, name, name)
			}
			val = def
		}
		b.WriteString(val)
		i += 2 + end
	}
	return b.String(), nil
}

var (
	appName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	envName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
)

// problems collects validation problems in a fixed order.
type problems struct {
	c    *Config
	list []*FieldError
}

func (p *problems) add(path, format string, args ...any) {
	line := 0
	if p.c != nil && p.c.lines != nil {
		for q := path; q != ""; {
			if l, ok := p.c.lines[q]; ok {
				line = l
				break
			}
			i := strings.LastIndexAny(q, ".[")
			if i < 0 {
				break
			}
			q = q[:i]
		}
	}
	p.list = append(p.list, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Line: line})
}

// Validate checks the whole configuration and returns every problem at
// once as a *ValidationError (one line per problem, each starting with the
// field's path), or nil.
func (c *Config) Validate() error {
	p := &problems{c: c}
	switch {
	case c.App == "":
		p.add("app", "required: name the application (lowercase letters, digits, dashes)")
	case !appName.MatchString(c.App):
		p.add("app", "%q is not a valid name: use lowercase letters, digits and dashes, starting and ending with a letter or digit", c.App)
	}
	if len(c.Environments) == 0 {
		p.add("environments", "required: define at least one environment (e.g. production)")
	}
	for _, name := range c.EnvNames() {
		e := c.Environments[name]
		path := "environments." + name
		if !envName.MatchString(name) {
			p.add(path, "%q is not a valid environment name: use lowercase letters, digits and dashes", name)
		}
		if e == nil {
			p.add(path, "empty: set at least host and path")
			continue
		}
		e.validate(p, path)
	}
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

func (e *Environment) validate(p *problems, path string) {
	at := func(field string) string { return path + "." + field }
	prefix := EnvPrefix(e.Name)
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			p.add(at(field), "must be > 0")
		}
	}

	// host
	switch h := e.Host; {
	case h.Address == "":
		p.add(at("host.address"), "required: set it to \"local\" or the server's host[:port], or set %sHOST", prefix)
	case h.Address != "local":
		if err := checkHostPort(h.Address, true); err != nil {
			p.add(at("host.address"), "%v", err)
		}
		if h.User == "" {
			p.add(at("host.user"), "required for an SSH host: set it or %sUSER", prefix)
		}
	}
	if e.Host.SSHKey != "" && e.Host.SSHKeyFile != "" {
		p.add(at("host.ssh_key_file"), "set either host.ssh_key or host.ssh_key_file, not both")
	}
	positive("host.connect_timeout", e.Host.ConnectTimeout)
	positive("host.keepalive", e.Host.Keepalive)

	switch {
	case e.Path == "":
		p.add(at("path"), "required: the application's directory on the host; set it or %sPATH", prefix)
	case !strings.HasPrefix(e.Path, "/"):
		p.add(at("path"), "%q must be an absolute path on the host", e.Path)
	}
	if e.ComposeFile == "" {
		p.add(at("compose_file"), "must not be empty (default docker-compose.yml)")
	}
	if e.EnvFile == "" {
		p.add(at("env_file"), "must not be empty (default .env.%s)", e.Name)
	}
	if e.PublicURL != "" && !isAbsURL(e.PublicURL) {
		p.add(at("public_url"), "%q must be an http or https URL", e.PublicURL)
	}

	// services
	all := map[string]bool{}
	stateless := map[string]bool{}
	if len(e.Services.Stateless) == 0 {
		p.add(at("services.stateless"), "required: list the services that get a colour (e.g. [backend, frontend])")
	}
	for i, s := range e.Services.Stateless {
		if s == "" || all[s] {
			p.add(fmt.Sprintf("%s[%d]", at("services.stateless"), i), "%q is empty or listed twice", s)
		}
		all[s], stateless[s] = true, true
	}
	for i, s := range e.Services.Shared {
		if s == "" || all[s] {
			p.add(fmt.Sprintf("%s[%d]", at("services.shared"), i), "%q is empty or listed twice (a service is either stateless or shared)", s)
		}
		all[s] = true
	}

	// ports
	if len(e.Ports) == 0 && e.Proxy.Kind != "none" {
		p.add(at("ports"), "required with proxy.kind %s: give each web service's container port and its blue and green loopback ports", e.Proxy.Kind)
	}
	used := map[int]string{}
	services := make([]string, 0, len(e.Ports))
	for s := range e.Ports {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, s := range services {
		pc := e.Ports[s]
		pp := at("ports." + s)
		if !stateless[s] {
			p.add(pp, "%q is not a stateless service: only services.stateless get colour ports", s)
		}
		for _, f := range []struct {
			name string
			port int
		}{{"container", pc.Container}, {"blue", pc.Blue}, {"green", pc.Green}} {
			if f.port < 1 || f.port > 65535 {
				p.add(pp+"."+f.name, "port %d out of range 1..65535", f.port)
				continue
			}
			if f.name == "container" {
				continue
			}
			if other, ok := used[f.port]; ok {
				p.add(pp+"."+f.name, "port %d is already used by %s", f.port, other)
				continue
			}
			used[f.port] = "ports." + s + "." + f.name
		}
	}

	// proxy
	switch e.Proxy.Kind {
	case "nginx":
		if !strings.HasPrefix(e.Proxy.Nginx.UpstreamFile, "/") {
			p.add(at("proxy.nginx.upstream_file"), "%q must be an absolute path on the host", e.Proxy.Nginx.UpstreamFile)
		}
	case "caddy":
		if err := checkHostPort(e.Proxy.Caddy.Admin, false); err != nil {
			p.add(at("proxy.caddy.admin"), "%v", err)
		}
		if e.Proxy.Caddy.RouteID == "" {
			p.add(at("proxy.caddy.route_id"), "required with proxy.kind caddy")
		}
		if !strings.HasPrefix(e.Proxy.Caddy.Dir, "/") || strings.ContainsAny(e.Proxy.Caddy.Dir, "{}*?[]\\ \t\r\n") {
			p.add(at("proxy.caddy.dir"), "%q must be an absolute path on the host without spaces, braces, glob characters or backslashes", e.Proxy.Caddy.Dir)
		}
	case "none":
	default:
		p.add(at("proxy.kind"), "unknown proxy %q: want nginx, caddy or none", e.Proxy.Kind)
	}

	// hooks
	checkService := func(field, s string) {
		if s != "" && !all[s] {
			p.add(at(field), "unknown service %q: list it in services.stateless or services.shared", s)
		}
	}
	if len(e.Hooks.Migrate) > 0 {
		checkService("hooks.migrate_service", e.Hooks.MigrateService)
	}
	positive("hooks.migrate_timeout", e.Hooks.MigrateTimeout)
	for i, h := range e.Hooks.AfterStart {
		f := fmt.Sprintf("hooks.after_start[%d]", i)
		checkService(f+".service", h.Service)
		if len(h.Command) == 0 {
			p.add(at(f+".command"), "required: the argv to run")
		}
		positive(f+".timeout", h.Timeout)
	}

	// health
	for _, hc := range []struct {
		name string
		c    HTTPCheck
	}{{"backend", e.Health.Backend}, {"frontend", e.Health.Frontend}} {
		f := "health." + hc.name
		if hc.c.URL == "" {
			if hc.name == "backend" {
				p.add(at(f+".url"), "required: a path on the colour's port (/api/health/) or an http(s) URL")
			}
			continue
		}
		if !strings.HasPrefix(hc.c.URL, "/") && !isAbsURL(hc.c.URL) {
			p.add(at(f+".url"), "%q must be a path starting with / or an http(s) URL", hc.c.URL)
		}
		if strings.HasPrefix(hc.c.URL, "/") && hc.c.Service != "" {
			if !stateless[hc.c.Service] {
				p.add(at(f+".service"), "%q is not a stateless service", hc.c.Service)
			} else if _, ok := e.Ports[hc.c.Service]; !ok {
				p.add(at(f+".service"), "%q has no ports: add ports.%s to check it on the colour's own port", hc.c.Service, hc.c.Service)
			}
		}
		if hc.name == "backend" && strings.HasPrefix(hc.c.URL, "/") && hc.c.Service == "" && len(e.Services.Stateless) > 0 {
			p.add(at(f+".service"), "required: no stateless service has ports to check %s on", hc.c.URL)
		}
		if hc.c.Attempts < 1 {
			p.add(at(f+".attempts"), "must be >= 1")
		}
		positive(f+".interval", hc.c.Interval)
		positive(f+".timeout", hc.c.Timeout)
		positive(f+".attempt_timeout", hc.c.AttemptTimeout)
		checkStatuses(p, at(f+".expect"), hc.c.Expect)
	}
	if e.Health.Redis.Addr != "" {
		if err := checkHostPort(e.Health.Redis.Addr, false); err != nil {
			p.add(at("health.redis.addr"), "%v", err)
		}
	}

	// smoke
	for i, ep := range e.Smoke.Endpoints {
		f := at(fmt.Sprintf("smoke.endpoints[%d]", i))
		if !strings.HasPrefix(ep.Path, "/") {
			p.add(f+".path", "%q must start with /", ep.Path)
		}
		checkStatuses(p, f+".expect", ep.Expect)
	}
	if e.Smoke.Concurrency < 1 {
		p.add(at("smoke.concurrency"), "must be >= 1")
	}
	positive("smoke.timeout", e.Smoke.Timeout)

	// monitor
	positive("monitor.window", e.Monitor.Window)
	positive("monitor.interval", e.Monitor.Interval)
	if e.Monitor.Interval > e.Monitor.Window && e.Monitor.Window > 0 {
		p.add(at("monitor.interval"), "%s is longer than monitor.window %s", e.Monitor.Interval, e.Monitor.Window)
	}
	if e.Monitor.MaxErrors < 0 {
		p.add(at("monitor.max_errors"), "must be >= 0")
	}

	// backup
	b := e.Backup
	if b.Keep < 1 {
		p.add(at("backup.keep"), "must be >= 1")
	}
	if b.Dir == "" {
		p.add(at("backup.dir"), "must not be empty (default backups)")
	}
	if b.Postgres.Service != "" && b.Postgres.DSN != "" {
		p.add(at("backup.postgres"), "set either service (pg_dump in its container) or dsn (pg_dump on the host), not both")
	}
	if b.Postgres.Service != "" {
		checkService("backup.postgres.service", b.Postgres.Service)
		if b.Postgres.Database == "" {
			p.add(at("backup.postgres.database"), "required with backup.postgres.service")
		}
	}
	if b.Media.Volume != "" && b.Media.Path != "" {
		p.add(at("backup.media"), "set either volume or path, not both")
	}
	if len(b.AppDump.Command) > 0 {
		checkService("backup.app_dump.service", b.AppDump.Service)
	}
	positive("backup.timeout", b.Timeout)

	// notify
	n := e.Notify
	if n.Telegram.Enabled() && n.Telegram.PublicChat == "" {
		p.add(at("notify.telegram.public_chat"), "required with a Telegram token: set it or TELEGRAM_PUBLIC_CHAT_ID")
	}
	if n.GitHub.Enabled() {
		if !repoRE.MatchString(n.GitHub.Repo) {
			p.add(at("notify.github.repo"), "%q must be owner/name (required with a GitHub token; GITHUB_REPOSITORY is used when set)", n.GitHub.Repo)
		}
		if u, err := url.Parse(n.GitHub.APIURL); err != nil || !isAbsURL(n.GitHub.APIURL) {
			p.add(at("notify.github.api_url"), "%q must be an https URL", n.GitHub.APIURL)
		} else if err := notify.CheckGitHubURL(u); err != nil {
			p.add(at("notify.github.api_url"), "%v", err)
		}
	}
	if n.Email.Enabled() {
		if n.Email.Port < 1 || n.Email.Port > 65535 {
			p.add(at("notify.email.port"), "port %d out of range 1..65535", n.Email.Port)
		}
		if n.Email.From == "" {
			p.add(at("notify.email.from"), "required with notify.email.host")
		}
		if len(n.Email.To) == 0 {
			p.add(at("notify.email.to"), "required with notify.email.host: list at least one recipient")
		}
	}
	if n.Webhook.Enabled() && !isAbsURL(n.Webhook.URL.Reveal()) {
		p.add(at("notify.webhook.url"), "must be an http or https URL")
	}

	// tests
	positive("tests.timeout", e.Tests.Timeout)
	seen := map[string]bool{}
	for i, name := range e.Tests.Env {
		f := at(fmt.Sprintf("tests.env[%d]", i))
		switch {
		case !varName.MatchString(name):
			p.add(f, "%q is not a variable name (letters, digits, _): list the names of the variables the tests need", name)
		case seen[name]:
			p.add(f, "%s is listed twice", name)
		}
		seen[name] = true
	}

	// timeouts, registry
	positive("timeouts.deployment", e.Timeouts.Deployment)
	positive("timeouts.start", e.Timeouts.Start)
	positive("timeouts.drain", e.Timeouts.Drain)
	positive("timeouts.notify", e.Timeouts.Notify)
	if e.Registry.Password != "" && e.Registry.Username == "" {
		p.add(at("registry.username"), "required with registry.password")
	}
}

func checkStatuses(p *problems, path string, codes []int) {
	if len(codes) == 0 {
		p.add(path, "list at least one HTTP status")
	}
	for i, c := range codes {
		if c < 100 || c > 599 {
			p.add(fmt.Sprintf("%s[%d]", path, i), "%d is not an HTTP status (100..599)", c)
		}
	}
}

// checkHostPort accepts host:port, or a bare host when portOptional.
func checkHostPort(addr string, portOptional bool) error {
	if portOptional && !strings.Contains(addr, ":") {
		if strings.ContainsAny(addr, "/ @") {
			return fmt.Errorf("%q must be host or host:port", addr)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || strings.ContainsAny(host, "/ @") {
		return fmt.Errorf("%q must be host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q out of range 1..65535", addr, port)
	}
	return nil
}

func isAbsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Secrets returns the environment's secret values (every Secret field,
// found by reflection so a new field cannot be forgotten), for masking
// output the libraries could not know was secret.
func (e *Environment) Secrets() []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k))
			}
		case reflect.String:
			if v.Type() == reflect.TypeFor[Secret]() && v.Len() >= 4 {
				out = append(out, v.String())
			}
		}
	}
	walk(reflect.ValueOf(e))
	return out
}

// Redactor returns a function replacing with "***" every secret of the
// environment (and each line of a multi-line one, such as a PEM key), and
// the values that identify where it runs: the host's address (and its name
// without the port), the SSH user, the application's path and the Telegram
// chat IDs, which the seed keeps in secrets too (PRODUCTION_HOST,
// PRODUCTION_USER, PRODUCTION_PATH, TELEGRAM_*_CHAT_ID).
//
// Secrets are replaced wherever they occur. The identifying values are
// replaced only as whole words (not inside a longer name of letters,
// digits and "_"), so a user called "deploy" masks "deploy:production" but
// not "deployment"; values shorter than 4 characters and the address
// "local" are left alone.
func (e *Environment) Redactor() func(string) string {
	var pairs []string
	for _, s := range e.Secrets() {
		pairs = append(pairs, s, mask)
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 8 {
				pairs = append(pairs, line, mask)
			}
		}
	}
	r := strings.NewReplacer(pairs...)
	words := e.identifying()
	return func(s string) string {
		s = r.Replace(s)
		for _, w := range words {
			s = replaceWord(s, w, mask)
		}
		return s
	}
}

// identifying lists the values Redactor masks as whole words, longest
// first (so a path holding the user's name is masked whole).
func (e *Environment) identifying() []string {
	var out []string
	add := func(v string) {
		if len(v) >= 4 && v != "local" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	add(e.Host.Address)
	if h, _, err := net.SplitHostPort(e.Host.Address); err == nil {
		add(h)
	}
	add(e.Host.User)
	add(strings.TrimRight(e.Path, "/"))
	add(e.Notify.Telegram.PublicChat)
	add(e.Notify.Telegram.LogChat)
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// replaceWord replaces each occurrence of w in s that is not part of a
// longer word (letters, digits, "_") with repl.
func replaceWord(s, w, repl string) string {
	if !strings.Contains(s, w) {
		return s
	}
	word := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	var b strings.Builder
	for {
		i := strings.Index(s, w)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + len(w)
		// A value that starts or ends with a non-word character ("/opt/app",
		// "-100123") needs no boundary on that side.
		left := i == 0 || !word(s[i-1]) || !word(w[0])
		right := j == len(s) || !word(s[j]) || !word(w[len(w)-1])
		if left && right {
			b.WriteString(s[:i])
			b.WriteString(repl)
		} else {
			b.WriteString(s[:j])
		}
		s = s[j:]
	}
}
