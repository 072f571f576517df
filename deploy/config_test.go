package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/internal/yamlconf"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// env is a fake environment for getenv.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// fakeSecrets are set in the fake environment; none may ever be printed.
var fakeSecrets = env{
	"PRODUCTION_SSH_KEY":        "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material-4711\n-----END OPENSSH PRIVATE KEY-----",
	"TELEGRAM_BOT_TOKEN":        "123456:secret-telegram-token-4711",
	"GITHUB_TOKEN":              "ghp_secretgithubtoken4711",
	"DATABASE_URL":              "postgres://app:secret-db-password-4711@127.0.0.1:5432/app",
	"REDIS_PASSWORD":            "secret-redis-password-4711",
	"SMTP_PASSWORD":             "secret-smtp-password-4711",
	"GHCR_TOKEN":                "secret-ghcr-token-4711",
	"DEPLOY_WEBHOOK_URL":        "https://hooks.example.com/secret-webhook-4711",
	"PRODUCTION_SSH_PASSPHRASE": "secret-passphrase-4711",
}

func exampleEnv() env {
	e := env{
		"PRODUCTION_HOST":         "the-bot.ru",
		"PRODUCTION_USER":         "deploy",
		"PRODUCTION_PATH":         "/opt/the-bot",
		"TELEGRAM_PUBLIC_CHAT_ID": "-1001234567890",
		"TELEGRAM_LOG_CHAT_ID":    "-1009876543210",
		"GHCR_USER":               "ci-bot",
		"HOME":                    "/home/ci",
	}
	for k, v := range fakeSecrets {
		e[k] = v
	}
	return e
}

func TestLoadExample(t *testing.T) {
	c, err := Load("../examples/deploy.yml", exampleEnv().get)
	if err != nil {
		t.Fatal(err)
	}
	if c.App != "the-bot" || !reflect.DeepEqual(c.EnvNames(), []string{"production", "staging"}) {
		t.Fatalf("app %q envs %v", c.App, c.EnvNames())
	}
	p, err := c.Env("production")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "production" || p.Host.Address != "the-bot.ru" || p.Host.User != "deploy" ||
		p.Host.SSHKey.Reveal() != fakeSecrets["PRODUCTION_SSH_KEY"] || p.Host.KnownHosts != "/home/ci/.ssh/known_hosts" ||
		p.Host.Sessions != host.SessionsShared {
		t.Errorf("production host = %+v", p.Host)
	}
	if p.Ports["backend"] != (PortsConfig{Container: 8000, Blue: 8001, Green: 8002}) || p.Ports["frontend"].Port("green") != 3002 {
		t.Errorf("ports = %+v", p.Ports)
	}
	if p.Notify.Telegram.Token.Reveal() != fakeSecrets["TELEGRAM_BOT_TOKEN"] || p.Notify.Telegram.PublicChat != "-1001234567890" {
		t.Errorf("telegram = %+v", p.Notify.Telegram)
	}
	if got := p.Hooks.AfterStart[0]; got.Service != "backend" || got.Command[1] != "manage.py" {
		t.Errorf("after_start = %+v", got)
	}
	// The example spells out every default: it must equal what the
	// defaults give where the example does not override them.
	if p.Health.Backend.Attempts != 30 || p.Health.Backend.Interval != 10*time.Second || p.Monitor.Window != 5*time.Minute {
		t.Errorf("health/monitor = %+v %+v", p.Health.Backend, p.Monitor)
	}

	s, err := c.Env("staging")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Host.IsLocal() || s.EnvFile != ".env.staging" || s.Health.Backend.Service != "backend" ||
		s.Health.Frontend.Enabled() || s.Hooks.MigrateService != "backend" || s.Proxy.Nginx.UpstreamFile != "/etc/nginx/blueshift/the-bot-staging.conf" {
		t.Errorf("staging defaults wrong: %+v", s)
	}
	if abs, _ := filepath.Abs("../examples/docker-compose.yml"); p.ComposeFile != abs {
		t.Errorf("compose_file resolved to %q, want %q", p.ComposeFile, abs)
	}
	if len(s.Smoke.Endpoints) != 1 || s.Smoke.Endpoints[0].Expect[0] != 200 {
		t.Errorf("staging smoke = %+v", s.Smoke)
	}
	if p.Standby != 10*time.Minute || s.Standby != 0 {
		t.Errorf("standby = %s (production), %s (staging): want 10m and the default, off", p.Standby, s.Standby)
	}
}

// TestExampleDocumentsEveryField checks that examples/deploy.yml mentions
// every field of the schema.
func TestExampleDocumentsEveryField(t *testing.T) {
	data, err := os.ReadFile("../examples/deploy.yml")
	if err != nil {
		t.Fatal(err)
	}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Map || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || ty == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || name == "-" {
				continue
			}
			if !bytes.Contains(data, []byte(name+":")) {
				t.Errorf("examples/deploy.yml does not document %s%s", path, name)
			}
			walk(f.Type, path+name+".")
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func TestDefaults(t *testing.T) {
	c, err := Load("testdata/config/minimal.yml", env{"PRODUCTION_HOST": "203.0.113.7:2222", "PRODUCTION_USER": "ops", "HOME": "/root"}.get)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.Env("production")
	want := DefaultEnvironment("production")
	// Fields that depend on the file or the environment.
	want.Host.Address, want.Host.User, want.Host.KnownHosts = "203.0.113.7:2222", "ops", "/root/.ssh/known_hosts"
	want.Path = "/opt/demo"
	abs, _ := filepath.Abs("testdata/config")
	want.ComposeFile, want.Tests.Dir = filepath.Join(abs, "docker-compose.yml"), abs
	want.Services.Stateless = []string{"web"}
	want.Ports = map[string]PortsConfig{"web": {Container: 8000, Blue: 8001, Green: 8002}}
	want.Proxy.Nginx.UpstreamFile = "/etc/nginx/blueshift/demo-production.conf"
	want.Proxy.Caddy.RouteID = "demo-production"
	want.Hooks.MigrateService = "web"
	want.Health.Backend.Service = "web"
	for i := range want.Smoke.Endpoints {
		want.Smoke.Endpoints[i].Service = "web"
	}
	want.Notify.GitHub.APIURL = "https://api.github.com/"
	if !reflect.DeepEqual(e, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", e, want)
	}
	// The seed's numbers.
	for name, pair := range map[string][2]any{
		"backend attempts":   {e.Health.Backend.Attempts, 30},
		"backend interval":   {e.Health.Backend.Interval, 10 * time.Second},
		"backend timeout":    {e.Health.Backend.Timeout, 5 * time.Minute},
		"frontend attempts":  {e.Health.Frontend.Attempts, 10},
		"frontend interval":  {e.Health.Frontend.Interval, 5 * time.Second},
		"monitor window":     {e.Monitor.Window, 5 * time.Minute},
		"monitor max errors": {e.Monitor.MaxErrors, 3},
		"deployment timeout": {e.Timeouts.Deployment, 90 * time.Minute},
		"backup keep":        {e.Backup.Keep, 10},
		"backup enabled":     {e.Backup.Enabled, true},
		"smoke endpoints":    {len(e.Smoke.Endpoints), 5},
		"env file":           {e.EnvFile, ".env.production"},
		"email port":         {e.Notify.Email.Port, 587},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
	}
	if e.Health.Frontend.Enabled() || !e.Health.Backend.Enabled() || e.Notify.Telegram.Enabled() || e.Backup.Postgres.Enabled() {
		t.Error("only the backend check should be enabled by default")
	}
}

func TestManyProblemsGolden(t *testing.T) {
	_, err := Load("testdata/config/many-problems.yml", env{}.get)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	var verr *ValidationError
	if !errors.As(err, &verr) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	golden := "testdata/config/many-problems.golden"
	if *update {
		os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if got := err.Error() + "\n"; got != string(want) {
		t.Errorf("error:\n%s\nwant (%s):\n%s", got, golden, want)
	}
	if verr.Problems[0].Path != "app" || verr.Problems[0].Line != 1 {
		t.Errorf("first problem = %+v", verr.Problems[0])
	}
}

// base is a valid configuration; cases replace parts of it.
const base = `app: demo
environments:
  production:
    host: {address: example.com, user: deploy}
    path: /opt/demo
    services: {stateless: [web, worker], shared: [db]}
    ports:
      web: {container: 8000, blue: 8001, green: 8002}
`

// TestComposeSyntaxLoadsLikeItsExpandedForm: a deploy.yml written as users
// write Compose files (anchors, merge keys, x- keys, $VAR and the
// ${VAR:-default} / ${VAR:?message} forms) loads to the same Config as the
// same file written out. On 7081692 the merge keys and x- keys were
// unknown fields and $VAR stayed literal.
func TestComposeSyntaxLoadsLikeItsExpandedForm(t *testing.T) {
	composed := `x-host: &host {user: $DEPLOY_USER, sessions: shared}
x-services: &services
  services: {stateless: [web, worker], shared: [db]}
  ports:
    web: {container: 8000, blue: 8001, green: 8002}
x-health: &health
  interval: 2s
  expect: [200, 204]
app: demo
environments:
  production:
    <<: *services
    x-owner: ops
    host: {<<: *host, address: "${PROD_HOST:?set PROD_HOST}"}
    path: /opt/demo
    public_url: https://$DOMAIN/
    health:
      backend: {<<: *health, url: /healthz}
  staging:
    <<: [*services]
    host:
      <<: *host
      address: ${STAGING_HOST-staging.example.com}
      sessions: per-command
    path: ${STAGING_PATH:-/opt/demo-staging}
    health: {backend: *health}
`
	expanded := `app: demo
environments:
  production:
    services: {stateless: [web, worker], shared: [db]}
    ports:
      web: {container: 8000, blue: 8001, green: 8002}
    host: {user: deploy, sessions: shared, address: prod.example.com}
    path: /opt/demo
    public_url: https://demo.example.com/
    health:
      backend: {interval: 2s, expect: [200, 204], url: /healthz}
  staging:
    services: {stateless: [web, worker], shared: [db]}
    ports:
      web: {container: 8000, blue: 8001, green: 8002}
    host: {user: deploy, address: staging.example.com, sessions: per-command}
    path: /opt/demo-staging
    health:
      backend: {interval: 2s, expect: [200, 204]}
`
	vars := env{"DEPLOY_USER": "deploy", "PROD_HOST": "prod.example.com", "DOMAIN": "demo.example.com", "HOME": "/home/ci"}
	dir := t.TempDir()
	load := func(name, data string) *Config {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, vars.get)
		if err != nil {
			t.Fatal(err)
		}
		c.File, c.lines = "", nil
		return c
	}
	got, want := load("composed.yml", composed), load("expanded.yml", expanded)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("the composed file loads to\n%s\nits expanded form to\n%s", g, w)
	}
	if p := got.Environments["production"]; p.Health.Backend.URL != "/healthz" || p.Host.Address != "prod.example.com" || len(p.Ports) != 1 {
		t.Errorf("production not merged: %+v", p)
	}
}

// TestInterpolationErrorsNeverShowSecrets: a problem in a secret field's
// value (a bad reference beside the secret's own, a required variable
// missing) names the field and the variable, never the expanded secret.
func TestInterpolationErrorsNeverShowSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.yml")
	for _, value := range []string{
		`"${PRODUCTION_SSH_KEY}${1X}"`,
		`"${PRODUCTION_SSH_KEY}${NOT_SET}"`,
		`"$PRODUCTION_SSH_KEY${NOT_SET:?the key's suffix}"`,
		`"${PRODUCTION_SSH_KEY}${NOT_SET:-${PRODUCTION_SSH_KEY}}"`,
	} {
		doc := strings.Replace(base, "user: deploy}", "user: deploy, ssh_key: "+value+"}", 1)
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, exampleEnv().get)
		if err == nil || !strings.Contains(err.Error(), "environments.production.host.ssh_key: ") {
			t.Fatalf("ssh_key: %s: Load = %v, want an error naming the field", value, err)
		}
		if strings.Contains(err.Error(), "secret-key-material") {
			t.Errorf("ssh_key: %s: the error shows the secret:\n%v", value, err)
		}
	}
}

func TestValidationMessages(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        env
		want       string // the whole error after the header
	}{
		{"unknown key", base + "    helth: {}\n",
			nil, `environments.production.helth: unknown field (did you mean "health"?) (line 9)`},
		{"unknown top-level key", "foo: 1\n" + base,
			nil, `foo: unknown field; known fields: app, environments (line 1)`},
		{"unknown nested key", base + "    health:\n      backend:\n        intervall: 5s\n",
			nil, `environments.production.health.backend.intervall: unknown field (did you mean "interval"?) (line 11)`},
		{"bad duration", base + "    health:\n      backend:\n        interval: 10x\n",
			nil, `environments.production.health.backend.interval: invalid duration "10x": want a number with a unit such as 10s, 5m or 1h30m (line 11)`},
		{"duration without unit", base + "    monitor: {window: 300}\n",
			nil, `environments.production.monitor.window: invalid duration "300": want a number with a unit such as 10s, 5m or 1h30m (add a unit: "300s") (line 9)`},
		{"zero interval", base + "    health:\n      backend:\n        interval: 0s\n",
			nil, `environments.production.health.backend.interval: must be > 0 (line 11)`},
		{"negative standby", base + "    standby: -5m\n",
			nil, `environments.production.standby: must be >= 0 (0 turns it off; 10m keeps the old colour warm for ten minutes) (line 9)`},
		{"standby under a second", base + "    standby: 500ms\n",
			nil, `environments.production.standby: 500ms is shorter than a second: give a window such as 10m, or 0 to turn it off (line 9)`},
		{"standby without a proxy", base + "    standby: 10m\n    proxy: {kind: none}\n",
			nil, `environments.production.standby: needs a proxy to switch back to the standby colour: set proxy.kind to nginx or caddy, or remove standby (line 9)`},
		{"missing host", strings.Replace(base, "host: {address: example.com, user: deploy}", "host: {user: deploy}", 1),
			nil, `environments.production.host.address: required: set it to "local" or the server's host[:port], or set PRODUCTION_HOST (line 4)`},
		{"host from env", strings.Replace(base, "host: {address: example.com, user: deploy}", "host: {}", 1),
			env{"PRODUCTION_HOST": "example.com", "PRODUCTION_USER": "deploy"}, ``},
		{"missing user", strings.Replace(base, ", user: deploy", "", 1),
			nil, `environments.production.host.user: required for an SSH host: set it or PRODUCTION_USER (line 4)`},
		{"bad address", strings.Replace(base, "address: example.com", "address: example.com:ssh", 1),
			nil, `environments.production.host.address: "example.com:ssh": port "ssh" out of range 1..65535 (line 4)`},
		{"bad session mode", strings.Replace(base, "user: deploy}", "user: deploy, sessions: pooled}", 1),
			nil, `environments.production.host.sessions: "pooled" must be "shared" or "per-command" (line 4)`},
		{"session mode from env", strings.Replace(base, "user: deploy}", "user: deploy, sessions: \"${BLUESHIFT_SSH_SESSION:-shared}\"}", 1),
			env{"BLUESHIFT_SSH_SESSION": "per-command"}, ``},
		{"bad session mode from env", strings.Replace(base, "user: deploy}", "user: deploy, sessions: \"${BLUESHIFT_SSH_SESSION:-shared}\"}", 1),
			env{"BLUESHIFT_SSH_SESSION": "one"}, `environments.production.host.sessions: "one" must be "shared" or "per-command" (line 4)`},
		{"bad port", strings.Replace(base, "green: 8002", "green: 70000", 1),
			nil, `environments.production.ports.web.green: port 70000 out of range 1..65535 (line 8)`},
		{"port not a number", strings.Replace(base, "green: 8002", "green: high", 1),
			nil, `environments.production.ports.web.green: must be a whole number, not "high" (line 8)`},
		{"blue equals green", strings.Replace(base, "green: 8002", "green: 8001", 1),
			nil, `environments.production.ports.web.green: port 8001 is already used by ports.web.blue (line 8)`},
		{"ports clash across services", base + "      worker: {container: 9000, blue: 8002, green: 9002}\n",
			nil, `environments.production.ports.worker.blue: port 8002 is already used by ports.web.green (line 9)`},
		{"ports of an unknown service", base + "      api: {container: 9000, blue: 9001, green: 9002}\n",
			nil, `environments.production.ports.api: "api" is not a stateless service: only services.stateless get colour ports (line 9)`},
		{"unknown proxy kind", base + "    proxy: {kind: haproxy}\n",
			nil, `environments.production.proxy.kind: unknown proxy "haproxy": want nginx, caddy or none (line 9)`},
		{"no ports with a proxy", strings.Split(base, "    ports:")[0],
			nil, "environments.production.ports: required with proxy.kind nginx: give each web service's container port and its blue and green loopback ports (line 3)\n" +
				"environments.production.health.backend.service: required: no stateless service has ports to check /api/health/ on (line 3)"},
		{"missing path", strings.Replace(base, "    path: /opt/demo\n", "", 1),
			nil, `environments.production.path: required: the application's directory on the host; set it or PRODUCTION_PATH (line 3)`},
		{"empty stateless", strings.Replace(base, "stateless: [web, worker]", "stateless: []", 1),
			nil, "environments.production.services.stateless: required: list the services that get a colour (e.g. [backend, frontend]) (line 6)\n" +
				`environments.production.ports.web: "web" is not a stateless service: only services.stateless get colour ports (line 8)`},
		{"var missing", base + "    public_url: ${PUBLIC_URL}\n",
			nil, `environments.production.public_url: environment variable PUBLIC_URL is not set (referenced as ${PUBLIC_URL}; set it, or write ${PUBLIC_URL:-default} to allow a default) (line 9)`},
		{"var default", base + "    public_url: ${PUBLIC_URL:-https://demo.example.com}\n",
			nil, ``},
		{"var without braces missing", base + "    public_url: https://$DOMAIN/\n",
			nil, `environments.production.public_url: environment variable DOMAIN is not set (referenced as $DOMAIN; set it, or write ${DOMAIN:-default} to allow a default) (line 9)`},
		{"var required with message", base + "    public_url: ${PUBLIC_URL:?set PUBLIC_URL to the site's address}\n",
			nil, `environments.production.public_url: required variable PUBLIC_URL is missing a value: set PUBLIC_URL to the site's address (line 9)`},
		{"var bad name", base + "    public_url: ${1URL}\n",
			nil, `environments.production.public_url: Invalid template: "${1URL}": a variable name is letters, digits and _, not starting with a digit; write $$ for a literal $ (line 9)`},
		{"merge of a list", base + "    <<: [1, 2]\n",
			nil, "environments.production.<<: must be a mapping, an alias (*name) of one or a list of them, not the value \"1\" (line 9)\n" +
				`environments.production.<<: must be a mapping, an alias (*name) of one or a list of them, not the value "2" (line 9)`},
		{"x- keys ignored", "x-note: {anything: [1]}\n" + base + "    x-owner: ops\n",
			nil, ``},
		{"unknown field from a merge", "x-h: &h {adress: example.com}\n" + strings.Replace(base, "host: {address: example.com, user: deploy}", "host: {<<: *h, address: example.com, user: deploy}", 1),
			nil, `environments.production.host.adress: unknown field (did you mean "address"?) (line 1)`},
		{"var unterminated", base + "    public_url: ${PUBLIC_URL\n",
			nil, `environments.production.public_url: unterminated ${ in "${PUBLIC_URL": close it with } (line 9)`},
		{"bad public url", base + "    public_url: demo.example.com\n",
			nil, `environments.production.public_url: "demo.example.com" must be an http or https URL (line 9)`},
		{"bad app name", strings.Replace(base, "app: demo", "app: My App", 1),
			nil, `app: "My App" is not a valid name: use lowercase letters, digits and dashes, starting and ending with a letter or digit (line 1)`},
		{"missing app", strings.Replace(base, "app: demo\n", "", 1),
			nil, `app: required: name the application (lowercase letters, digits, dashes)`},
		{"not a mapping", "- app: demo\n",
			nil, `(document): must be a mapping of keys to values, not a list (line 1)`},
		{"empty file", "",
			nil, "app: required: name the application (lowercase letters, digits, dashes)\nenvironments: required: define at least one environment (e.g. production)"},
		{"no environments", "app: demo\n",
			nil, `environments: required: define at least one environment (e.g. production)`},
		{"bad env name", strings.Replace(base, "production:", "Prod:", 1),
			nil, `environments.Prod: "Prod" is not a valid environment name: use lowercase letters, digits and dashes (line 3)`},
		{"list expected", base + "    health:\n      backend:\n        expect: 200\n",
			nil, `environments.production.health.backend.expect: must be a list, not the value "200" (line 11)`},
		{"mapping expected", base + "    monitor: 5m\n",
			nil, `environments.production.monitor: must be a mapping of keys to values, not the value "5m" (line 9)`},
		{"bad bool", base + "    backup: {enabled: yes}\n",
			nil, `environments.production.backup.enabled: must be true or false, not "yes" (line 9)`},
		{"duplicate key", base + "    path: /srv/demo\n",
			nil, `environments.production.path: defined twice (line 9)`},
		{"hook in unknown service", base + "    hooks:\n      migrate: [migrate]\n      migrate_service: api\n",
			nil, `environments.production.hooks.migrate_service: unknown service "api": list it in services.stateless or services.shared (line 11)`},
		{"after_start without command", base + "    hooks:\n      after_start:\n        - service: web\n",
			nil, `environments.production.hooks.after_start[0].command: required: the argv to run (line 11)`},
		{"telegram without chat", base,
			env{"TELEGRAM_BOT_TOKEN": "123:abc"}, `environments.production.notify.telegram.public_chat: required with a Telegram token: set it or TELEGRAM_PUBLIC_CHAT_ID (line 3)`},
		{"github without repo", base + "    notify: {github: {token: t}}\n",
			nil, `environments.production.notify.github.repo: "" must be owner/name (required with a GitHub token; GITHUB_REPOSITORY is used when set) (line 9)`},
		// On 239a55e any http URL passed, and the token went out in clear text.
		{"github plain http api_url", base + "    notify: {github: {token: t, repo: a/b, api_url: \"http://ghe.example/api/v3/\"}}\n",
			nil, `environments.production.notify.github.api_url: "http://ghe.example/api/v3/" must be an https URL (http only for 127.0.0.1, ::1 or localhost): the token would cross the network in clear text (line 9)`},
		{"github loopback http api_url", base + "    notify: {github: {token: t, repo: a/b, api_url: \"http://127.0.0.1:9/\"}}\n",
			nil, ``},
		{"caddy admin", base + "    proxy: {kind: caddy, caddy: {admin: localhost}}\n",
			nil, `environments.production.proxy.caddy.admin: "localhost" must be host:port (line 9)`},
		{"caddy dir", base + "    proxy: {kind: caddy, caddy: {dir: caddy/colours}}\n",
			nil, `environments.production.proxy.caddy.dir: "caddy/colours" must be an absolute path on the host without spaces, braces, glob characters or backslashes (line 9)`},
		{"both ssh keys", base + "    host: {address: local, ssh_key: x, ssh_key_file: k}\n",
			nil, `environments.production.host: defined twice (line 9)`},
		{"ssh key and file", strings.Replace(base, "user: deploy}", "user: deploy, ssh_key: x, ssh_key_file: /k}", 1),
			nil, `environments.production.host.ssh_key_file: set either host.ssh_key or host.ssh_key_file, not both (line 4)`},
		{"monitor interval longer than window", base + "    monitor: {window: 10s, interval: 1m}\n",
			nil, `environments.production.monitor.interval: 1m0s is longer than monitor.window 10s (line 9)`},
		{"registry password without user", base + "    registry: {password: x}\n",
			nil, `environments.production.registry.username: required with registry.password (line 9)`},
		{"check headers, body and json", base + "    health:\n      backend: {headers: {X-Forwarded-Proto: https, Host: the-bot.ru}, json: {status: ok, checks.database: ok}}\n    smoke:\n      headers: {X-Forwarded-Proto: https}\n      endpoints: [{path: /, service: web, body_contains: TheBot}]\n",
			nil, ``},
		{"bad header name", base + "    health:\n      backend: {headers: {'X Proto': https}}\n",
			nil, `environments.production.health.backend.headers: "X Proto" is not a header name (letters, digits and -) (line 10)`},
		{"body and json", base + "    smoke:\n      endpoints: [{path: /, body_contains: x, json: {status: ok}}]\n",
			nil, `environments.production.smoke.endpoints[0]: set body_contains or json, not both (line 10)`},
		{"bad json path", base + "    health:\n      backend: {json: {checks..db: ok}}\n",
			nil, `environments.production.health.backend.json: "checks..db" is not a dotted path into the JSON body (status, checks.database) (line 10)`},
		{"smoke service without ports", base + "    smoke:\n      endpoints: [{path: /, service: worker}]\n",
			nil, `environments.production.smoke.endpoints[0].service: "worker" has no ports: add ports.worker to request it on the colour's own port (line 10)`},
		{"smoke service unknown", base + "    smoke:\n      endpoints: [{path: /, service: db}]\n",
			nil, `environments.production.smoke.endpoints[0].service: "db" is not a stateless service (line 10)`},
		{"postgres command in a shared service", base + "    health:\n      postgres: {command: [true], service: db}\n",
			nil, `environments.production.health.postgres.service: "db" is not a stateless service: the command runs in the next colour's container (line 10)`},
		{"redis service not shared", base + "    health:\n      redis: {service: web}\n",
			nil, `environments.production.health.redis.service: "web" is not a shared service (or "none") (line 10)`},
		{"bad colour listen", base + "    proxy: {nginx: {colour_listen: 'unix:/run/x.sock'}}\n",
			nil, `environments.production.proxy.nginx.colour_listen: "unix:/run/x.sock": want a loopback host:port (a unix socket left by a crash would stop nginx from starting) or "off" (line 9)`},
		{"proxy none needs no ports", strings.Split(base, "    ports:")[0] + "    proxy: {kind: none}\n    health: {backend: {url: 'http://127.0.0.1:8000/health'}}\n",
			nil, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "deploy.yml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			e := tc.env
			if e == nil {
				e = env{}
			}
			_, err := Load(path, e.get)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want:\n%s", tc.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error does not wrap ErrInvalidConfig: %v", err)
			}
			_, got, _ := strings.Cut(err.Error(), ":\n")
			if got != tc.want {
				t.Errorf("error:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "deploy.yml"), env{}.get)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "DEPLOY_CONFIG") {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "deploy.yml")
	os.WriteFile(path, []byte("app: [unclosed\n"), 0o600)
	_, err = Load(path, env{}.get)
	if err == nil || !strings.Contains(err.Error(), "parse YAML") || !strings.Contains(err.Error(), path) {
		t.Errorf("bad YAML: %v", err)
	}
}

func TestLoadDefaultHonoursDeployConfig(t *testing.T) {
	e := exampleEnv()
	e["DEPLOY_CONFIG"] = "testdata/config/minimal.yml"
	c, err := LoadDefault(e.get)
	if err != nil {
		t.Fatal(err)
	}
	if c.App != "demo" || c.File != "testdata/config/minimal.yml" {
		t.Errorf("loaded %q from %q", c.App, c.File)
	}
	delete(e, "DEPLOY_CONFIG")
	_, err = LoadDefault(e.get) // deploy.yml in the package directory does not exist
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), DefaultConfigFile) {
		t.Errorf("LoadDefault without DEPLOY_CONFIG: %v", err)
	}
}

func TestEnvUnknown(t *testing.T) {
	c, err := Load("../examples/deploy.yml", exampleEnv().get)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Env("prod")
	if !errors.Is(err, ErrUnknownEnvironment) || err.Error() != `unknown environment "prod": known environments are production, staging` {
		t.Errorf("Env(prod) = %v", err)
	}
}

// TestSecretsNeverPrinted prints a loaded configuration every way a program
// might and looks for the secrets in the output.
func TestSecretsNeverPrinted(t *testing.T) {
	c, err := Load("../examples/deploy.yml", exampleEnv().get)
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := c.Env("production")
	var out bytes.Buffer
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		fmt.Fprintf(&out, format+"\n", *prod)
		fmt.Fprintf(&out, format+"\n", prod.Host)
		fmt.Fprintf(&out, format+"\n", prod.Host.SSHKey)
		fmt.Fprintf(&out, format+"\n", prod.Notify)
	}
	fmt.Fprintln(&out, prod.Host.SSHKey, prod.Notify.Telegram.Token)
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(j)
	y, err := c.MaskedYAML()
	if err != nil {
		t.Fatal(err)
	}
	out.Write(y)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "host", prod.Host, "token", prod.Notify.Telegram.Token, "env", prod)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "token", prod.Notify.Telegram.Token, "env", prod)

	for name, secret := range fakeSecrets {
		for _, part := range []string{secret, "4711"} {
			if strings.Contains(out.String(), part) {
				t.Errorf("%s (%q) leaked into output", name, part)
			}
		}
	}
	if !strings.Contains(string(y), "token: '***'") || !strings.Contains(string(y), "interval: 10s") {
		t.Errorf("masked YAML lacks masked token or readable durations:\n%s", y)
	}
	if Secret("").String() != "" || fmt.Sprint(Secret("x")) != "***" {
		t.Error("Secret masking of empty/non-empty values")
	}
	if prod.Notify.Telegram.Token.Reveal() != fakeSecrets["TELEGRAM_BOT_TOKEN"] {
		t.Error("Reveal does not return the value")
	}
}

// TestMaskedYAMLRoundTrips loads the masked dump of a configuration without
// secrets again and gets the same configuration.
func TestMaskedYAMLRoundTrips(t *testing.T) {
	c, err := Load("testdata/config/minimal.yml", env{"PRODUCTION_HOST": "local", "HOME": "/root"}.get)
	if err != nil {
		t.Fatal(err)
	}
	y, err := c.MaskedYAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "deploy.yml")
	os.WriteFile(path, y, 0o600)
	c2, err := Load(path, env{"HOME": "/root"}.get)
	if err != nil {
		t.Fatalf("reloading the dump: %v\n%s", err, y)
	}
	y2, err := c2.MaskedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if string(y) != string(y2) {
		t.Errorf("round trip differs:\n%s\n%s", y, y2)
	}
	if !strings.Contains(string(y), "interval: 10s") {
		t.Errorf("dump lacks defaults:\n%s", y)
	}
}

func TestEnvPrefix(t *testing.T) {
	for in, want := range map[string]string{"production": "PRODUCTION_", "staging": "STAGING_", "eu-west-1": "EU_WEST_1_"} {
		if got := envPrefix(in); got != want {
			t.Errorf("envPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleLoad() {
	getenv := func(k string) string {
		return map[string]string{"PRODUCTION_HOST": "deploy@the-bot.ru", "HOME": "/home/ci"}[k]
	}
	_, err := Load("testdata/config/minimal.yml", getenv)
	fmt.Println(err)

	getenv = func(k string) string {
		return map[string]string{"PRODUCTION_HOST": "the-bot.ru", "PRODUCTION_USER": "deploy", "HOME": "/home/ci"}[k]
	}
	c, err := Load("testdata/config/minimal.yml", getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	prod, _ := c.Env("production")
	fmt.Println(prod.Host.Address, prod.Host.User, prod.Path)
	fmt.Println(prod.Health.Backend.URL, prod.Health.Backend.Attempts, prod.Health.Backend.Interval)
	fmt.Println(prod.Ports["web"].Port("green"))
	// Output:
	// configuration testdata/config/minimal.yml is invalid:
	// environments.production.host.address: "deploy@the-bot.ru" must be host or host:port (line 6)
	// environments.production.host.user: required for an SSH host: set it or PRODUCTION_USER (line 5)
	// the-bot.ru deploy /opt/demo
	// /api/health/ 30 10s
	// 8002
}

// FuzzParse feeds arbitrary YAML to the decoder: it must never panic, and
// whatever it accepts must dump without error.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../examples/deploy.yml", "testdata/config/minimal.yml", "testdata/config/many-problems.yml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("app: &a {x: *a}\n"))
	f.Add([]byte("environments: {production: [1, 2]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, env{"A": "x"}.get, "/dir", "/home")
		if err != nil {
			return
		}
		_ = c.Validate()
		if _, err := c.MaskedYAML(); err != nil {
			t.Fatalf("MaskedYAML: %v", err)
		}
	})
}

// TestConnect reaches a real sshd with settings that come from deploy.yml
// and the environment the way a deployment gets them: the key from
// PRODUCTION_SSH_KEY, known_hosts relative to the file, or a pinned key.
func TestConnect(t *testing.T) {
	sshd := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(strings.Join(sshd.KnownHostsLines(), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := env{"PRODUCTION_HOST": sshd.Addr, "PRODUCTION_USER": sshd.User, "PRODUCTION_SSH_KEY": string(sshd.ClientKeyPEM), "HOME": dir}.get
	load := func(hostYAML string) *Environment {
		t.Helper()
		path := filepath.Join(dir, "deploy.yml")
		yml := "app: demo\nenvironments:\n  production:\n    host: " + hostYAML + "\n    path: /opt/demo\n" +
			"    services: {stateless: [web]}\n    ports: {web: {container: 80, blue: 8001, green: 8002}}\n"
		if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, getenv)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := c.Env("production")
		return e
	}
	ctx := context.Background()
	run := func(e *Environment) error {
		h, err := e.Host.Connect(ctx, nil)
		if err != nil {
			return err
		}
		defer h.Close()
		out, err := host.Output(ctx, h, "echo", "connected")
		if err == nil && string(out) != "connected\n" {
			t.Errorf("output %q", out)
		}
		return err
	}

	e := load("{known_hosts: known_hosts}")
	if e.Host.KnownHosts != filepath.Join(dir, "known_hosts") {
		t.Errorf("known_hosts resolved to %q", e.Host.KnownHosts)
	}
	if err := run(e); err != nil {
		t.Errorf("known_hosts next to deploy.yml: %v", err)
	}
	if err := run(load("{known_hosts: ~/nonexistent, host_key: '" + sshd.HostKeyFingerprint("ssh-ed25519") + "'}")); err != nil {
		t.Errorf("pinned host key: %v", err)
	}
	err := run(load("{host_key: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'}"))
	if !errors.Is(err, host.ErrHostKeyMismatch) || !strings.Contains(err.Error(), "connect to "+sshd.User+"@"+sshd.Addr) {
		t.Errorf("wrong pinned key: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Error("error shows the private key")
	}

	local := load("{address: local}")
	h, err := local.Host.Connect(ctx, nil)
	if err != nil || h.Name() != "local" {
		t.Fatalf("local: %v", err)
	}
	h.Close()
}

// TestHostSessionsPerCommandOpensASessionPerCommand connects to a real sshd
// with host.sessions from deploy.yml and counts the SSH sessions the host
// opens: one per command with per-command, one shared shell otherwise. On
// e9f2e20 deploy.yml had no host.sessions ("unknown field"): the only way
// to leave the shared shell was BLUESHIFT_SSH_SESSION in the environment.
func TestHostSessionsPerCommandOpensASessionPerCommand(t *testing.T) {
	t.Setenv(host.SessionsEnv, "") // the file decides, not the caller's environment
	sshd := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	dir := t.TempDir()
	getenv := env{"PRODUCTION_HOST": sshd.Addr, "PRODUCTION_USER": sshd.User, "PRODUCTION_SSH_KEY": string(sshd.ClientKeyPEM), "HOME": dir}.get
	const commands = 5
	for _, tc := range []struct {
		sessions string // host.sessions in deploy.yml; "" leaves it out
		want     int64
	}{
		{"per-command", commands},
		{"shared", 1},
		{"", 1},
	} {
		t.Run("sessions="+tc.sessions, func(t *testing.T) {
			hostYAML := "{host_key: '" + sshd.HostKeyFingerprint("ssh-ed25519") + "'"
			if tc.sessions != "" {
				hostYAML += ", sessions: " + tc.sessions
			}
			yml := "app: demo\nenvironments:\n  production:\n    host: " + hostYAML + "}\n    path: /opt/demo\n" +
				"    services: {stateless: [web]}\n    ports: {web: {container: 80, blue: 8001, green: 8002}}\n"
			path := filepath.Join(dir, "deploy.yml")
			if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, getenv)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := c.Env("production")
			if e.Host.Sessions != tc.sessions {
				t.Errorf("host.sessions loaded as %q, want %q", e.Host.Sessions, tc.sessions)
			}
			ctx := context.Background()
			h, err := e.Host.Connect(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			ssh, ok := h.(*host.SSH)
			if !ok {
				t.Fatalf("Connect returned %T, want *host.SSH", h)
			}
			for i := range commands {
				out, err := host.Output(ctx, h, "echo", "command", strconv.Itoa(i))
				if err != nil || string(out) != "command "+strconv.Itoa(i)+"\n" {
					t.Fatalf("command %d: %q, %v", i, out, err)
				}
			}
			if got := ssh.SessionsOpened(); got != tc.want {
				t.Errorf("%d SSH sessions for %d commands with host.sessions %q, want %d", got, commands, tc.sessions, tc.want)
			}
		})
	}
}

func TestRedactorMasksEverySecret(t *testing.T) {
	env := DefaultEnvironment("production")
	env.Notify.Telegram.Token = "123456:telegram-token"
	env.Notify.Email.Password = "smtp-password"
	env.Host.SSHKey = "-----BEGIN KEY-----\nAAAAsecretkeymaterial\n-----END KEY-----"
	env.Registry.Password = "ghcr-token-xyz"
	red := env.Redactor()
	in := "token 123456:telegram-token, pw smtp-password, key line AAAAsecretkeymaterial, ghcr-token-xyz, plain"
	out := red(in)
	for _, s := range []string{"telegram-token", "smtp-password", "secretkeymaterial", "ghcr-token-xyz"} {
		if strings.Contains(out, s) {
			t.Errorf("redacted output still contains %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "plain") {
		t.Errorf("redactor removed non-secret text: %s", out)
	}
}

// billionLaughs is a valid deploy.yml of under 3 KB whose aliases expand to
// 40 environments × 40 hooks × 40 arguments (64,000 values, 1.6 million
// with 120 of each): every environment is *e, whose hooks are 40 × *h,
// whose command is 40 × *s.
func billionLaughs(n int) string {
	rep := func(s string) string { return strings.TrimSuffix(strings.Repeat(s+", ", n), ", ") }
	var b strings.Builder
	b.WriteString("app: demo\nenvironments:\n")
	b.WriteString("  e0: &e\n    host: {address: local}\n    path: /opt/demo\n    services: {stateless: [web]}\n")
	b.WriteString("    ports: {web: {container: 8000, blue: 8001, green: 8002}}\n")
	b.WriteString("    tests: {command: [&s lol]}\n")
	b.WriteString("    backup: {app_dump: {command: &c [" + rep("*s") + "]}}\n")
	b.WriteString("    smoke: {endpoints: [&h {path: /, expect: [200]}]}\n")
	b.WriteString("    hooks: {after_start: [" + rep("{command: *c}") + "]}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  e%d: *e\n", i)
	}
	return b.String()
}

// TestBillionLaughsRefused: on 239a55e the decoder followed every alias
// without limit, so a 2.6 KB deploy.yml of nested aliases took 7.9 s (and
// a slightly larger one minutes and gigabytes) before being accepted. The
// decoder now stops at yamlconf.MaxValues and says why.
func TestBillionLaughsRefused(t *testing.T) {
	doc := billionLaughs(40)
	if len(doc) > 4096 {
		t.Fatalf("the document is %d bytes; the point is that it is small", len(doc))
	}
	path := filepath.Join(t.TempDir(), "deploy.yml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, env{}.get)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load = %v, want a *ValidationError refusing the aliases", err)
	}
	if len(verr.Problems) != 1 {
		t.Fatalf("want exactly one problem, got:\n%v", err)
	}
	msg := verr.Problems[0].Error()
	for _, w := range []string{"(document): expands to more than 20000 values", "YAML aliases", "billion laughs"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not contain %q", msg, w)
		}
	}

	// The same shape with few repetitions is an ordinary configuration:
	// aliases themselves stay allowed.
	small := billionLaughs(3)
	if err := os.WriteFile(path, []byte(small), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env{}.get)
	if err != nil {
		t.Fatalf("a small document with aliases: %v", err)
	}
	if len(c.Environments) != 3 || len(c.Environments["e2"].Hooks.AfterStart) != 3 {
		t.Errorf("aliases not expanded: %+v", c.Environments["e2"].Hooks)
	}
}

// TestExampleIsFarBelowTheAliasBound keeps yamlconf.MaxValues' doc comment
// honest: the documented example decodes to a few hundred values.
func TestExampleIsFarBelowTheAliasBound(t *testing.T) {
	data, err := os.ReadFile("../examples/deploy.yml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := yamlconf.Decode(data, &Config{}, yamlconf.Options{Getenv: exampleEnv().get, NewMapValue: newEnvironment})
	if err != nil || len(res.Problems) > 0 {
		t.Fatal(err, res.Problems)
	}
	if res.Values > yamlconf.MaxValues/20 {
		t.Errorf("the example decodes to %d values, too close to the bound %d", res.Values, yamlconf.MaxValues)
	}
	t.Logf("examples/deploy.yml decodes to %d values", res.Values)
}

// TestDeadlineBudgetOfTheExampleFits: on 239a55e timeouts.deployment (10m)
// bounded nothing, and preflight compared it only with one health timeout,
// so the seed's own policy (tests 30m, health 5m, monitor 5m) passed a
// check it could never meet. The default deadline now holds the sum of the
// example's worst cases, and every term of that sum is listed.
func TestDeadlineBudgetOfTheExampleFits(t *testing.T) {
	c, err := Load("../examples/deploy.yml", exampleEnv().get)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Env("production")
	b := p.Budget(false)
	if err := b.Check(); err != nil {
		t.Fatalf("the example does not fit its own deadline: %v", err)
	}
	if b.Deadline != DefaultDeploymentTimeout || b.Total() < 75*time.Minute {
		t.Errorf("deadline %s, total %s: the example's bounds should sum to about 80m", b.Deadline, b.Total())
	}
	var names []string
	for _, term := range b.Terms {
		names = append(names, term.Name)
	}
	want := []string{"lock, prepare, preflight and switch", "start notification 3 × timeouts.notify", "tests.timeout", "backup.timeout",
		"timeouts.start", "hooks.migrate_timeout", "hooks.after_start[0].timeout", "health.backend.timeout",
		"health.frontend.attempts × (interval + attempt_timeout)", "health.postgres 3 × (5s + 2s)", "health.redis 3 × (5s + 2s)",
		"health.postgres.command 3 × (1m + 2s)", "health.redis.service 3 × (1m + 2s)",
		"smoke.timeout", "smoke.timeout (public URL)", "monitor.window + one check", "2 × timeouts.drain"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("terms:\n got %q\nwant %q", names, want)
	}
	// SKIP_TESTS=true takes the suite out of the sum.
	if skipped := p.Budget(true); b.Total()-skipped.Total() != 30*time.Minute {
		t.Errorf("skipping the tests saves %s, want 30m", b.Total()-skipped.Total())
	}
	t.Logf("the example's worst cases add up to %s", b.Total())
}

// TestDeadlineBudgetMessage pins what preflight says when the phases cannot
// fit: the deadline, the sum, every term with its number, and the fix.
func TestDeadlineBudgetMessage(t *testing.T) {
	e := DefaultEnvironment("production")
	e.Tests.Command = []string{"pytest"}
	e.Timeouts.Deployment = 10 * time.Minute // the seed's 600 s
	e.Health.Backend.Service = "web"
	err := e.Budget(false).Check()
	want := "environments.production.timeouts.deployment: 10m0s cannot hold the worst cases of the phases, which add up to 1h3m30s " +
		"(lock, prepare, preflight and switch 2m0s + tests.timeout 30m0s + backup.timeout 10m0s + timeouts.start 10m0s + " +
		"health.backend.timeout 5m0s + smoke.timeout 1m0s + monitor.window + one check 5m10s + 2 × timeouts.drain 20s): " +
		"raise timeouts.deployment to at least 1h3m30s, or lower those bounds"
	if err == nil || err.Error() != want {
		t.Errorf("Check() = %v\nwant %s", err, want)
	}

	// Fewer attempts than the timeout allows: the attempts bound the wait.
	e.Health.Backend.Attempts, e.Health.Backend.Interval, e.Health.Backend.AttemptTimeout = 3, time.Second, time.Second
	e.Tests.Command = nil
	e.Timeouts.Deployment = 28*time.Minute + 36*time.Second
	b := e.Budget(false)
	if err := b.Check(); err != nil {
		t.Errorf("exactly the sum must fit: %v", err)
	}
	if got := b.Terms[3]; got.Name != "health.backend.attempts × (interval + attempt_timeout)" || got.Worst != 6*time.Second {
		t.Errorf("health term = %v", got)
	}
	e.Timeouts.Deployment--
	if err := e.Budget(false).Check(); err == nil || !strings.Contains(err.Error(), "28m35.999999999s cannot hold") {
		t.Errorf("one nanosecond short: %v", err)
	}
}

// TestTimeoutValidationMessages pins the messages of the new bounds.
func TestTimeoutValidationMessages(t *testing.T) {
	doc := base + `    tests: {timeout: 0s, env: [GOOD_NAME, "bad name", GOOD_NAME]}
    backup: {timeout: 0s}
    smoke: {timeout: 0s}
    hooks: {migrate_timeout: 0s, after_start: [{command: [true], timeout: -1s}]}
    timeouts: {start: 0s}
`
	path := filepath.Join(t.TempDir(), "deploy.yml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, env{}.get)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, w := range []string{
		"environments.production.hooks.migrate_timeout: must be > 0 (line 12)",
		"environments.production.hooks.after_start[0].timeout: must be > 0 (line 12)",
		"environments.production.smoke.timeout: must be > 0 (line 11)",
		"environments.production.backup.timeout: must be > 0 (line 10)",
		"environments.production.tests.timeout: must be > 0 (line 9)",
		`environments.production.tests.env[1]: "bad name" is not a variable name (letters, digits, _): list the names of the variables the tests need (line 9)`,
		"environments.production.tests.env[2]: GOOD_NAME is listed twice (line 9)",
		"environments.production.timeouts.start: must be > 0 (line 13)",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

// TestRedactorMasksHostUserAndPath: on 239a55e the README promised that
// PRODUCTION_HOST, PRODUCTION_USER and PRODUCTION_PATH were masked in every
// output, but Redactor masked only Secret fields: the host, user and path
// showed in errors, history and logs.
func TestRedactorMasksHostUserAndPath(t *testing.T) {
	e := DefaultEnvironment("production")
	e.Host.Address, e.Host.User, e.Path = "the-bot.ru:2222", "deploy", "/opt/the-bot"
	e.Notify.Telegram.PublicChat = "-1001234567890"
	red := e.Redactor()
	for in, want := range map[string]string{
		"connect to deploy@the-bot.ru:2222: refused":                "connect to ***@***: refused",
		"ssh the-bot.ru failed":                                     "ssh *** failed",
		"backup into /opt/the-bot/backups on the-bot.ru":            "backup into ***/backups on ***",
		"chat -1001234567890 not found":                             "chat *** not found",
		"deployment of deploy:production by deployer":               "deployment of ***:production by deployer",
		"/opt/the-bot-staging and /opt/the-bots and www.the-bot.ru": "***-staging and /opt/the-bots and www.***",
	} {
		if got := red(in); got != want {
			t.Errorf("red(%q) = %q, want %q", in, got, want)
		}
	}
	local := DefaultEnvironment("staging")
	local.Host.Address = "local"
	if got := local.Redactor()("running locally on local"); got != "running locally on local" {
		t.Errorf("the address local is not secret: %q", got)
	}
}

// TestRedactingLogger: the engine's log goes through the environment's
// Redactor, messages and attributes (strings, errors, groups) alike.
func TestRedactingLogger(t *testing.T) {
	var buf bytes.Buffer
	e := DefaultEnvironment("production")
	e.Host.Address, e.Notify.GitHub.Token = "the-bot.ru", "ghp_secretgithubtoken4711"
	l := redactingLogger(slog.New(slog.NewTextHandler(&buf, nil)), e.Redactor())
	l = l.With("host", "the-bot.ru").WithGroup("g")
	l.Warn("calling the-bot.ru", "err", errors.New("401 for ghp_secretgithubtoken4711"), "n", 3,
		slog.Group("sub", "token", "ghp_secretgithubtoken4711"))
	out := buf.String()
	for _, s := range []string{"the-bot.ru", "ghp_secret"} {
		if strings.Contains(out, s) {
			t.Errorf("log shows %q: %s", s, out)
		}
	}
	for _, s := range []string{`msg="calling ***"`, `host=***`, `g.err="401 for ***"`, `g.n=3`, `g.sub.token=***`} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %q: %s", s, out)
		}
	}
}

// TestTestPhaseBoundAndEnvironment: the suite runs within tests.timeout,
// whose end is reported with the field's path, and with the allow-listed
// environment only. On 239a55e the suite had no bound of its own (only an
// interrupt stopped it) and inherited every variable of blueshift's.
func TestTestPhaseBoundAndEnvironment(t *testing.T) {
	t.Parallel() // 200 ms of waiting for the bound
	e := DefaultEnvironment("production")
	// exec: the killed shell is the sleep, so no grandchild holds the
	// output open for host.Local's 5 s WaitDelay (the test took 5.2 s).
	e.Tests.Command = []string{"sh", "-c", "exec sleep 30"}
	e.Tests.Timeout = 200 * time.Millisecond
	e.Tests.Env = []string{"NAMED", "PATH"}
	vars := env{"PATH": os.Getenv("PATH"), "NAMED": "yes", "GITHUB_SHA": "abc", "GITHUB_TOKEN": "ghp_x", "PRODUCTION_SSH_KEY": "k", "UNNAMED": "no"}
	eng := &Engine{Env: e, getenv: vars.get}
	err := testPhase{eng}.Run(context.Background(), &Deployment{})
	if err == nil || !strings.Contains(err.Error(), "test suite failed (sh -c exec sleep 30): environments.production.tests.timeout (200ms) exceeded: ") {
		t.Errorf("test phase past its bound: %v", err)
	}
	got := eng.testEnv()
	want := []string{"PATH=" + os.Getenv("PATH"), "GITHUB_SHA=abc", "NAMED=yes"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("testEnv() = %q, want %q", got, want)
	}
}

// TestCheckServiceDefaults: health and smoke go to the services that
// publish ports (the frontend's "/" to the frontend: smoke used to send
// every path to the backend, where Django answers / with 404), the
// database command runs in the migrate service and redis-cli ping in the
// shared redis service.
func TestCheckServiceDefaults(t *testing.T) {
	load := func(t *testing.T, yml string) *Environment {
		t.Helper()
		path := filepath.Join(t.TempDir(), "deploy.yml")
		require.NoError(t, os.WriteFile(path, []byte(yml), 0o600))
		c, err := Load(path, env{}.get)
		require.NoError(t, err)
		e, err := c.Env("production")
		require.NoError(t, err)
		return e
	}
	e := load(t, `app: thebot
environments:
  production:
    host: {address: local}
    path: /srv/thebot
    services: {stateless: [backend, frontend, worker], shared: [db, redis]}
    ports:
      backend: {container: 8000, blue: 8001, green: 8002}
      frontend: {container: 3000, blue: 3001, green: 3002}
    health:
      postgres: {command: [python, manage.py, check, --database, default]}
`)
	assert.Equal(t, "backend", e.Health.Backend.Service)
	assert.Equal(t, "frontend", e.Health.Frontend.Service)
	for _, ep := range e.Smoke.Endpoints {
		want := "backend"
		if ep.Path == "/" {
			want = "frontend"
		}
		assert.Equal(t, want, ep.Service, ep.Path)
	}
	assert.Equal(t, "backend", e.Health.Postgres.Service)
	assert.Equal(t, "redis", e.Health.Redis.Service)
	assert.Empty(t, e.Backup.Postgres.User, "the backup's user comes from the compose file at backup time")

	// Other names: the services with ports, in order; no redis service.
	e = load(t, `app: other
environments:
  production:
    host: {address: local}
    path: /srv/other
    services: {stateless: [worker, api, web], shared: [cache]}
    ports:
      api: {container: 8000, blue: 8001, green: 8002}
      web: {container: 3000, blue: 3001, green: 3002}
`)
	assert.Equal(t, "api", e.Health.Backend.Service)
	assert.Equal(t, "web", e.Health.Frontend.Service)
	assert.Empty(t, e.Health.Redis.Service)
}

// TestInterpolatedSecretVariablesAreMasked: a secret-looking variable
// interpolated into a field that is not a Secret (a hook's or the tests'
// command) is masked by the Redactor all the same. Before, $GITHUB_TOKEN and
// $DATABASE_URL in tests.command reached the console and the notification
// in clear (seen when deploy.yml began to interpolate $VAR as Compose does).
func TestInterpolatedSecretVariablesAreMasked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.yml")
	doc := base + "    tests: {command: [sh, -c, 'check $GITHUB_TOKEN ${DATABASE_URL} $APP_LABEL']}\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := env{"GITHUB_TOKEN": "ghp_interpolated0815", "DATABASE_URL": "postgres://app:pw-interpolated@db/app", "APP_LABEL": "shop-label"}
	c, err := Load(path, vars.get)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Environments["production"]
	got := e.Redactor()(strings.Join(e.Tests.Command, " "))
	if want := "sh -c check *** *** shop-label"; got != want {
		t.Errorf("redacted command = %q, want %q", got, want)
	}
}
