package thebot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

// ConfigName is the deploy.yml DeployConfig's file is written as.
const ConfigName = "deploy.yml"

// RegistryPasswordEnv is the variable deploy.yml reads the registry's
// password from.
const RegistryPasswordEnv = "THEBOT_REGISTRY_PASSWORD"

// Workarounds are the deploy.yml settings blueshift needed before the
// changes of issue 12 to deploy thebot. Each is what a user had to find out
// by a failed deployment; each names the change that made it unnecessary.
// The zero value (none) is what the tests and the bench deploy with.
type Workarounds struct {
	// NoColourHeader sets proxy.version_header to "": the switch otherwise
	// waits for an X-Blueshift-Colour response header thebot never sends,
	// and rolls back after 30 s ("answers from the wrong colour: … colour
	// """). Unnecessary once the proxy, not the app, proves the colour.
	NoColourHeader bool
	// SmokeWithoutRoot lists the smoke endpoints without "/": smoke sends
	// every endpoint to the backend's port, where Django answers / with 404.
	// Unnecessary once smoke endpoints name their service.
	SmokeWithoutRoot bool
	// BackupUser sets backup.postgres.user to thebot: the default role
	// "postgres" does not exist when the compose file sets POSTGRES_USER,
	// so once the database runs every deployment fails preflight. Unneeded
	// once the default comes from the db service's POSTGRES_USER.
	BackupUser bool
}

// AllWorkarounds is every workaround: the deploy.yml blueshift deploys
// thebot with today.
var AllWorkarounds = Workarounds{NoColourHeader: true, SmokeWithoutRoot: true, BackupUser: true}

// DeployConfig returns thebot's deploy.yml for blueshift, shaped like the
// README's suggestion (host local, the app's directory appPath, the host
// nginx's upstream file and command, the local registry with its password
// from $THEBOT_REGISTRY_PASSWORD, the README's checks: health JSON, the
// in-container database check, smoke with X-Forwarded-Proto and / on the
// frontend), with the given workarounds, and the test phase (TestScriptName).
// monitor is the verify phase's window ("10s"). The README's one-line
// `host: {address: ${PRODUCTION_HOST}, …}` is not valid YAML (a `{` in a
// plain scalar inside a flow mapping); values holding ${…} are written in
// block style here.
func (w *Workspace) DeployConfig(appPath, monitor string, wa Workarounds) ([]byte, error) {
	cmd := make([]string, 0, 6)
	for _, a := range w.NginxCommand() {
		cmd = append(cmd, fmt.Sprintf("%q", a))
	}
	data := map[string]any{
		"W": w, "AppPath": appPath, "Upstream": w.UpstreamFile(), "Command": strings.Join(cmd, ", "),
		"User": RegistryUser, "PasswordEnv": RegistryPasswordEnv, "TestScript": TestScriptName, "Monitor": monitor, "WA": wa,
	}
	var b bytes.Buffer
	if err := deployTmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("thebot: deploy.yml: %w", err)
	}
	return b.Bytes(), nil
}

// WriteDeployConfig writes DeployConfig next to the compose file and copies
// the env file into appPath (blueshift reads env_file relative to the app's
// path on the host). It returns the deploy.yml's path.
func (w *Workspace) WriteDeployConfig(appPath, monitor string, wa Workarounds) (string, error) {
	b, err := w.DeployConfig(appPath, monitor, wa)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(appPath, 0o755); err != nil {
		return "", fmt.Errorf("thebot: %w", err)
	}
	env, err := os.ReadFile(w.EnvFile)
	if err != nil {
		return "", fmt.Errorf("thebot: %w (call WriteFiles first)", err)
	}
	if err := os.WriteFile(filepath.Join(appPath, EnvName), env, 0o600); err != nil {
		return "", fmt.Errorf("thebot: %w", err)
	}
	path := filepath.Join(w.Dir, ConfigName)
	return path, os.WriteFile(path, b, 0o644)
}

var deployTmpl = template.Must(template.New(ConfigName).Parse(`# thebot's deploy.yml (examples/thebot), the README's suggestion for this
# machine.
app: {{.W.App}}
environments:
  {{.W.Environment}}:
    host: {address: local}
    path: {{.AppPath}}
    public_url: {{.W.PublicURL}}
    services: {stateless: [backend, frontend, worker, beat], shared: [db, redis]}
    ports:
      backend:  {container: 8000, blue: {{.W.Backend.Blue}}, green: {{.W.Backend.Green}}}
      frontend: {container: 3000, blue: {{.W.Frontend.Blue}}, green: {{.W.Frontend.Green}}}
    proxy:
      kind: nginx
      nginx:
        upstream_file: {{.Upstream}}
        command: [{{.Command}}]
{{- if .WA.NoColourHeader}}
      version_header: ""   # workaround: thebot sends no X-Blueshift-Colour
{{- end}}
    tests:   # the app's own Django tests against a PostgreSQL 15 and a Redis started for them
      command: [sh, {{.TestScript}}]
      timeout: 5m
    hooks:
      migrate: [python, manage.py, migrate, --noinput]
      after_start: [{service: backend, command: [python, manage.py, collectstatic, --noinput]}]
    health:
      backend: {url: /api/health/, attempts: 30, interval: 2s{{if not .WA.SmokeWithoutRoot}}, json: {status: ok}{{end}}}
      frontend: {url: /, attempts: 10, interval: 2s}
{{- if not .WA.SmokeWithoutRoot}}
      postgres: {command: [python, manage.py, check, --database, default]}
{{- end}}
{{- if .WA.SmokeWithoutRoot}}
    smoke:   # workaround: smoke sends / to the backend
      endpoints:
        - {path: /api/health/, expect: [200]}
        - {path: /api/system/readiness/, expect: [200]}
        - {path: /api/v1/auth/status/, expect: [200, 401]}
        - {path: /admin/, expect: [200, 302]}
{{- else}}
    smoke:   # the README's
      headers: {X-Forwarded-Proto: https}
      endpoints:
        - {path: /api/health/, json: {database: ok, redis: ok}}
        - {path: /api/system/readiness/}
        - {path: /api/v1/auth/status/, expect: [200, 401]}
        - {path: /admin/, expect: [200, 302]}
        - {path: /, service: frontend, body_contains: TheBot}
{{- end}}
    monitor: {window: {{.Monitor}}, interval: 1s, max_errors: 3}
    timeouts: {drain: 5s}
    backup:
      postgres: {service: db, database: thebot{{if .WA.BackupUser}}, user: thebot{{end}}}
      media: {volume: media}
    registry:
      username: {{.User}}
      password: ${ {{- .PasswordEnv -}} }
`))
