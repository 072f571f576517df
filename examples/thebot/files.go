package thebot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
)

// Files of a workspace.
const (
	ComposeName = "docker-compose.yml"
	EnvName     = ".env.production"
	// TestComposeName and TestScriptName are the test phase's: the
	// services the app's own tests run against, and the script deploy.yml's
	// tests.command runs.
	TestComposeName = "docker-compose.test.yml"
	TestScriptName  = "run-tests.sh"
	// SourceName is the backend's checkout in the workspace (the
	// repository's backend/ directory), which the test phase tests.
	SourceName   = "backend"
	nginxDirName = "nginx"
	upstreamName = "upstream.conf"
)

// Workspace is a prepared stack: its files and the options it was made with.
type Workspace struct {
	Options
	// ComposeFile and EnvFile are the seed's docker-compose.yml and
	// .env.production.
	ComposeFile, EnvFile string
	// NginxDir is the host nginx's prefix: nginx.conf, upstream.conf (the
	// file blueshift's nginx switcher writes), nginx.pid, error.log.
	NginxDir string
	// Images are the images the compose file runs.
	Images *Images
}

// Open returns the workspace o describes without changing anything.
func Open(o Options) (*Workspace, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Workspace{
		Options:     o,
		ComposeFile: filepath.Join(o.Dir, ComposeName),
		EnvFile:     filepath.Join(o.Dir, EnvName),
		NginxDir:    filepath.Join(o.Dir, nginxDirName),
	}, nil
}

// PublicURL is where the host nginx serves the app.
func (w *Workspace) PublicURL() string { return "http://" + w.ProxyAddr }

// SourceDir is the backend's checkout the test phase tests.
func (w *Workspace) SourceDir() string { return filepath.Join(w.Dir, SourceName) }

// TestProject is the compose project of the test phase's services.
func (w *Workspace) TestProject() string { return w.App + "-tests" }

// UpstreamFile is the file the host nginx includes for its upstreams: the
// one blueshift's nginx switcher rewrites at each switch.
func (w *Workspace) UpstreamFile() string { return filepath.Join(w.NginxDir, upstreamName) }

// NginxCommand invokes the workspace's host nginx (blueshift appends -t or
// -s reload).
func (w *Workspace) NginxCommand() []string {
	return []string{"/usr/sbin/nginx", "-p", w.NginxDir + "/", "-c", filepath.Join(w.NginxDir, "nginx.conf")}
}

// RouteName is the name of the upstream blueshift's engine writes for a
// stateless service ("<app>_<env>_<service>", dashes as underscores; it
// mirrors deploy.Engine.Routes).
func (w *Workspace) RouteName(service string) string {
	return strings.ReplaceAll(w.App+"_"+w.Environment+"_"+service, "-", "_")
}

// Routes are the two routes the host nginx proxies to, as blueshift's
// engine builds them from deploy.yml's ports.
func (w *Workspace) Routes() []traffic.Route {
	up := func(p ColourPorts) traffic.Upstreams {
		return traffic.Upstreams{
			traffic.Blue:  {fmt.Sprintf("127.0.0.1:%d", p.Blue)},
			traffic.Green: {fmt.Sprintf("127.0.0.1:%d", p.Green)},
		}
	}
	return []traffic.Route{
		{Name: w.RouteName("backend"), Upstreams: up(w.Backend)},
		{Name: w.RouteName("frontend"), Upstreams: up(w.Frontend)},
	}
}

// Files returns the workspace's files by path: the compose file and env
// file as the seed writes them, and the host nginx's configuration. The
// upstream file is not among them: blueshift's switcher owns it.
func (w *Workspace) Files(im *Images) (map[string][]byte, error) {
	dbPassword, err := w.secret("db-password")
	if err != nil {
		return nil, err
	}
	secretKey, err := w.secret("secret-key")
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"W": w, "Backend": im.Backend[FirstVersion], "Frontend": im.Frontend[FirstVersion],
		"DB": im.DB, "Redis": im.Redis,
		"DBPassword": dbPassword, "SecretKey": secretKey,
		"Backend_": w.RouteName("backend"), "Frontend_": w.RouteName("frontend"),
		"Upstream": w.UpstreamFile(), "NginxDir": w.NginxDir,
		"Base": im.Base, "TestProject": w.TestProject(), "Source": SourceName, "TestCompose": TestComposeName,
	}
	out := map[string][]byte{}
	for path, tmpl := range map[string]*template.Template{
		w.ComposeFile: composeTmpl, w.EnvFile: envTmpl, filepath.Join(w.NginxDir, "nginx.conf"): nginxTmpl,
		filepath.Join(w.Dir, TestComposeName): testComposeTmpl, filepath.Join(w.Dir, TestScriptName): testScriptTmpl,
	} {
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("thebot: %s: %w", filepath.Base(path), err)
		}
		out[path] = b.Bytes()
	}
	return out, nil
}

// WriteFiles writes Files into the workspace (the env file 0600: it holds
// the database password and the secret key) and the backend's checkout at
// SecondVersion (WriteSource). The upstream file is written only when
// missing, pointing at blue.
func (w *Workspace) WriteFiles(im *Images) error {
	files, err := w.Files(im)
	if err != nil {
		return err
	}
	if err := w.WriteSource(Release{Version: SecondVersion}); err != nil {
		return err
	}
	for _, d := range []string{w.Dir, filepath.Join(w.NginxDir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("thebot workspace: %w", err)
		}
	}
	for path, b := range files {
		mode := os.FileMode(0o644)
		if path == w.EnvFile {
			mode = 0o600
		}
		if err := os.WriteFile(path, b, mode); err != nil {
			return fmt.Errorf("thebot workspace: %w", err)
		}
	}
	if _, err := os.Stat(w.UpstreamFile()); err == nil {
		return nil
	}
	sw, err := traffic.NewNginx(traffic.NginxConfig{App: w.App, Routes: w.Routes(), UpstreamFile: w.UpstreamFile(), Runner: host.NewLocal()})
	if err != nil {
		return fmt.Errorf("thebot: upstream file: %w", err)
	}
	b, err := sw.Render(traffic.Blue)
	if err != nil {
		return fmt.Errorf("thebot: upstream file: %w", err)
	}
	return os.WriteFile(w.UpstreamFile(), b, 0o644)
}

// WriteSource replaces the backend's checkout (SourceDir) with rel's files.
func (w *Workspace) WriteSource(rel Release) error {
	if err := os.RemoveAll(w.SourceDir()); err != nil {
		return fmt.Errorf("thebot checkout: %w", err)
	}
	if err := writeTree(w.SourceDir(), BackendImage, rel); err != nil {
		return fmt.Errorf("thebot checkout: %w", err)
	}
	return nil
}

// secret returns the workspace's secret name, made at random on first use
// and kept in <Dir>/secrets/<name> (0600): the files are rewritten on every
// Up and must keep the database password the volume was initialised with.
func (w *Workspace) secret(name string) (string, error) {
	p := filepath.Join(w.Dir, "secrets", name)
	if b, err := os.ReadFile(p); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("thebot workspace: %w", err)
	}
	s := randomHex(24)
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("thebot workspace: %w", err)
	}
	return s, nil
}

var composeTmpl = template.Must(template.New(ComposeName).Parse(`# The seed's compose file for thebot (written by examples/thebot): backend
# (Django + gunicorn), frontend (static site, nginx), Celery worker and beat,
# PostgreSQL 15 and Redis. Images come from the registry a CI job pushed
# them to; .env.production holds the settings and secrets.
services:
  backend:
    image: {{.Backend}}
    env_file: .env.production
    ports: ["127.0.0.1:{{.W.Backend.Blue}}:8000"]
    volumes:
      - static:/app/staticfiles
      - media:/app/media
    depends_on:
      db: {condition: service_healthy}
      redis: {condition: service_healthy}
    restart: unless-stopped

  frontend:
    image: {{.Frontend}}
    ports: ["127.0.0.1:{{.W.Frontend.Blue}}:3000"]
    restart: unless-stopped

  worker:
    image: {{.Backend}}
    command: [python3, -m, celery, -A, thebot, worker, --loglevel=info, --concurrency=1]
    env_file: .env.production
    volumes:
      - media:/app/media
    depends_on:
      db: {condition: service_healthy}
      redis: {condition: service_healthy}
    restart: unless-stopped

  beat:
    image: {{.Backend}}
    command: [python3, -m, celery, -A, thebot, beat, --loglevel=info, --schedule=/tmp/celerybeat-schedule]
    env_file: .env.production
    depends_on:
      redis: {condition: service_healthy}
    restart: unless-stopped

  db:
    image: {{.DB}}
    env_file: .env.production
    volumes:
      - postgres_data:/var/lib/postgresql/data
    healthcheck:
      test: [CMD, pg_isready, -h, 127.0.0.1, -U, thebot, -d, thebot]
      interval: 2s
      timeout: 3s
      retries: 30
    restart: unless-stopped

  redis:
    image: {{.Redis}}
    healthcheck:
      test: [CMD, redis-cli, ping]
      interval: 2s
      timeout: 3s
      retries: 30
    restart: unless-stopped

volumes:
  postgres_data: {}
  static: {}
  media: {}
`))

var envTmpl = template.Must(template.New(EnvName).Parse(`# thebot's .env.production (the seed guide's variables; secrets: keep 0600).
ENVIRONMENT=production
DEBUG=False
SECRET_KEY={{.SecretKey}}
ALLOWED_HOSTS=*
DATABASE_URL=postgresql://thebot:{{.DBPassword}}@db:5432/thebot
REDIS_URL=redis://redis:6379/1
POSTGRES_USER=thebot
POSTGRES_PASSWORD={{.DBPassword}}
POSTGRES_DB=thebot
BEAT_INTERVAL=10
FRONTEND_URL={{.W.PublicURL}}
`))

var nginxTmpl = template.Must(template.New("nginx.conf").Parse(`# thebot's public nginx on the host, as a production server would have it:
# / to the frontend, /api, /admin, /static and /media to the backend. The
# upstreams are in {{.Upstream}}, the file blueshift's nginx switcher writes.
pid {{.NginxDir}}/nginx.pid;
error_log {{.NginxDir}}/error.log warn;
worker_processes 1;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path {{.NginxDir}}/tmp/body;
    proxy_temp_path {{.NginxDir}}/tmp/proxy;
    fastcgi_temp_path {{.NginxDir}}/tmp/fastcgi;
    uwsgi_temp_path {{.NginxDir}}/tmp/uwsgi;
    scgi_temp_path {{.NginxDir}}/tmp/scgi;
    include {{.Upstream}};
    server {
        listen {{.W.ProxyAddr}};
        client_max_body_size 20m;
        client_body_buffer_size 20m;
        proxy_max_temp_file_size 0;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_next_upstream error timeout;
        location / {
            proxy_pass http://{{.Frontend_}};
        }
        location ~ ^/(api|admin|static|media)/ {
            proxy_pass http://{{.Backend_}};
        }
    }
}
`))

var testComposeTmpl = template.Must(template.New(TestComposeName).Parse(`# The test phase's services (the seed's Phase 3): a PostgreSQL 15 and a
# Redis started for the app's own Django tests, which run from the checkout
# (./{{.Source}}) in the base image (the Python and Django of every release).
# {{.TestProject}}: run by {{.TestProject}}'s run-tests.sh, removed after.
services:
  tests:
    image: {{.Base}}
    working_dir: /src
    command: [python3, manage.py, test, --noinput, --verbosity, "2", core]
    volumes: ["./{{.Source}}:/src:ro"]
    environment:
      DATABASE_URL: postgresql://thebot:thebot-tests@db:5432/thebot
      REDIS_URL: redis://redis:6379/1
      SECRET_KEY: tests-only-not-secret
      PYTHONDONTWRITEBYTECODE: "1"
      STATIC_ROOT: /tmp/static
      MEDIA_ROOT: /tmp/media
    depends_on:
      db: {condition: service_healthy}
      redis: {condition: service_healthy}

  db:
    image: {{.DB}}
    environment: {POSTGRES_USER: thebot, POSTGRES_PASSWORD: thebot-tests, POSTGRES_DB: thebot}
    tmpfs: [/var/lib/postgresql/data]
    healthcheck:
      test: [CMD, pg_isready, -h, 127.0.0.1, -U, thebot, -d, thebot]
      interval: 1s
      timeout: 3s
      retries: 60

  redis:
    image: {{.Redis}}
    healthcheck:
      test: [CMD, redis-cli, ping]
      interval: 1s
      timeout: 3s
      retries: 60
`))

var testScriptTmpl = template.Must(template.New(TestScriptName).Parse(`#!/bin/sh
# thebot's test phase (deploy.yml's tests.command): the app's own Django
# tests against a PostgreSQL 15 and a Redis started for them
# (docker-compose.test.yml), removed afterwards whatever the outcome. Exits
# with the tests' status.
set -u
cd "$(dirname "$0")"
compose() { docker compose -p {{.TestProject}} -f {{.TestCompose}} "$@"; }
compose run --rm -T tests
status=$?
compose down --volumes --timeout 1 >/dev/null 2>&1
exit $status
`))
