package compose

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/version"
)

func TestWithTag(t *testing.T) {
	for in, want := range map[string]string{
		"web":                                  "web:v1",
		"web:latest":                           "web:v1",
		"ghcr.io/acme/web:1.0":                 "ghcr.io/acme/web:v1",
		"localhost:5000/web":                   "localhost:5000/web:v1",
		"localhost:5000/web:old":               "localhost:5000/web:v1",
		"ghcr.io/acme/web@sha256:abc":          "ghcr.io/acme/web:v1",
		"ghcr.io/acme/web:1.0@sha256:abcdef01": "ghcr.io/acme/web:v1",
	} {
		if got := WithTag(in, "v1"); got != want {
			t.Errorf("WithTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeCompose(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const simpleCompose = `services:
  web:
    image: web:latest
    ports: ["8000:8000"]
    depends_on: [db]
  db:
    image: postgres:15
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data:
`

func TestRenderRejects(t *testing.T) {
	p, err := Load(context.Background(), LoadOptions{Dir: writeCompose(t, map[string]string{"docker-compose.yml": simpleCompose})})
	if err != nil {
		t.Fatal(err)
	}
	ok := RenderOptions{App: "shop", Colour: version.Blue, Version: "v1", Shared: []string{"db"}}
	for _, tc := range []struct {
		edit func(*RenderOptions)
		want string
	}{
		{func(o *RenderOptions) { o.App = "Shop" }, `app "Shop": use lowercase`},
		{func(o *RenderOptions) { o.Colour = "red" }, `colour "red": must be "blue" or "green"`},
		{func(o *RenderOptions) { o.Version = "" }, `version "": must be a non-empty image tag`},
		{func(o *RenderOptions) { o.Shared = []string{"postgres"} }, `shared: service "postgres" is not in the compose file (services: db, web)`},
		{func(o *RenderOptions) { o.Stateless = []string{"db"} }, `service "db" is both stateless and shared`},
		{func(o *RenderOptions) { o.Shared = nil; o.Stateless = []string{"web"} }, `service "db" is neither stateless nor shared`},
		{func(o *RenderOptions) { o.Shared = []string{"db", "web"} }, `no stateless services`},
		{func(o *RenderOptions) { o.Ports = map[string]PortMap{"db": {5432, 15432}} }, `ports: service "db" is shared`},
		{func(o *RenderOptions) { o.Ports = map[string]PortMap{"web": {8000, 0}} }, `ports: service "web": container and host ports must be 1-65535`},
		{func(o *RenderOptions) { o.Images = map[string]string{"api": "x"} }, `images: service "api" is not in the compose file`},
	} {
		opts := ok
		tc.edit(&opts)
		_, err := Render(p, opts)
		if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want ErrRender containing %q", err, tc.want)
		}
	}
	if _, err := Render(p, ok); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestRenderDoesNotModifyProject(t *testing.T) {
	p, err := Load(context.Background(), LoadOptions{Dir: writeCompose(t, map[string]string{"docker-compose.yml": simpleCompose})})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := p.MarshalYAML()
	for _, colour := range []version.Colour{version.Blue, version.Green} {
		r, err := Render(p, RenderOptions{App: "shop", Colour: colour, Version: "v1", Shared: []string{"db"},
			Ports: map[string]PortMap{"web": {8000, 18000}}, HostDir: "/srv/shop"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Colour.Name() != "shop-"+string(colour) || r.Shared.Name() != "shop" {
			t.Errorf("names %q %q", r.Colour.Name(), r.Shared.Name())
		}
		if r.Colour.FileMode() != 0o644 {
			t.Errorf("no env file: mode %o, want 0644", r.Colour.FileMode())
		}
		if len(r.Volumes) != 1 || r.Volumes[0].Name != "shop_data" || r.Networks[0].Name != "shop_net" {
			t.Errorf("resources %+v %+v", r.Volumes, r.Networks)
		}
		if got := strings.Join(r.Colour.Services(), ","); got != "web" {
			t.Errorf("colour services %s", got)
		}
		if deps := r.Colour.Project.Services["web"].DependsOn; len(deps) != 0 {
			t.Errorf("depends_on on a shared service kept: %v", deps)
		}
	}
	after, _ := p.MarshalYAML()
	if !bytes.Equal(before, after) {
		t.Errorf("Render modified the loaded project:\n%s\n---\n%s", before, after)
	}
}

func TestLoad(t *testing.T) {
	var logs bytes.Buffer
	dir := writeCompose(t, map[string]string{
		"docker-compose.yml": "version: '3'\nservices:\n  web:\n    image: web:${TAG}\n    environment:\n      - A=${UNSET_A}\n  tool:\n    image: tool\n    profiles: [tools]\n",
		".env.prod":          "TAG=v9\n",
	})
	p, err := Load(context.Background(), LoadOptions{Dir: dir, EnvFile: ".env.prod", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if p.Services["web"].Image != "web:v9" || !p.Interpolated {
		t.Errorf("interpolation: image %q interpolated %v", p.Services["web"].Image, p.Interpolated)
	}
	if _, ok := p.Services["tool"]; !ok {
		t.Error("a profiled service vanished: Load must keep every profile by default")
	}
	if strings.Join(p.MissingVariables, ",") != "UNSET_A" || !strings.Contains(logs.String(), "UNSET_A") {
		t.Errorf("missing variables %v, log %q", p.MissingVariables, logs.String())
	}
	p, err = Load(context.Background(), LoadOptions{Dir: dir, EnvFile: ".env.prod", Profiles: []string{"other"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Services["tool"]; ok {
		t.Error("profile narrowing: tool kept")
	}
	if _, err := Load(context.Background(), LoadOptions{Dir: t.TempDir()}); !errors.Is(err, ErrNoComposeFile) {
		t.Errorf("no compose file: %v", err)
	}
}

// TestLoadEnvFileReferencesEarlierVariables: on 239a55e the lookup given to
// dotenv answered "set, empty" for every variable not passed in Env, and
// dotenv asks the lookup before the file's own earlier lines, so
// `URL=http://${HOST}/` in .env became "http:///". Now references resolve
// to earlier lines, as in docker compose, and undefined ones are reported.
func TestLoadEnvFileReferencesEarlierVariables(t *testing.T) {
	dir := writeCompose(t, map[string]string{
		"docker-compose.yml": "services:\n  web:\n    image: x\n    environment:\n      URL: ${URL}\n      OTHER: ${OTHER}\n",
		".env":               "HOST=db.internal # the database\nURL=\"http://${HOST}/\"\nOTHER=${UNDEFINED_HERE:-dflt}${ALSO_UNDEFINED}\n",
	})
	p, err := Load(context.Background(), LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	env := p.Services["web"].Environment
	if got := *env["URL"]; got != "http://db.internal/" {
		t.Errorf("URL = %q, want http://db.internal/", got)
	}
	if got := *env["OTHER"]; got != "dflt" {
		t.Errorf("OTHER = %q, want dflt", got)
	}
	if strings.Join(p.MissingVariables, ",") != "ALSO_UNDEFINED,UNDEFINED_HERE" {
		t.Errorf("MissingVariables = %v", p.MissingVariables)
	}
	// NoDotEnv: the .env is not read at all.
	p, err = Load(context.Background(), LoadOptions{Dir: dir, NoDotEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := *p.Services["web"].Environment["URL"]; got != "" || p.Interpolated {
		t.Errorf("with NoDotEnv URL = %q, interpolated %v: want .env ignored", got, p.Interpolated)
	}
}

// TestParseEnvFileErrors: a malformed line is an error naming the file and
// the line.
func TestParseEnvFileErrors(t *testing.T) {
	_, _, err := ParseEnvFile([]byte("GOOD=1\nBAD KEY=2\n"), "/srv/app/.env.production")
	if err == nil || !strings.Contains(err.Error(), "/srv/app/.env.production") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %v: want the file and line 2", err)
	}
}

// TestMaskedYAMLHidesInterpolatedValues: on 239a55e the only rendering was
// YAML, and deploy:plan and compose:render printed it with env-file values
// in it. MaskedYAML shows "${NAME}" instead, wherever the value occurs in a
// string (short values only as whole strings), escaping other '$' as YAML
// does; YAML, which is written to the host, keeps the values.
func TestMaskedYAMLHidesInterpolatedValues(t *testing.T) {
	dir := writeCompose(t, map[string]string{
		"docker-compose.yml": "services:\n  web:\n    image: x\n    ports: [\"${PORT}:8000\"]\n    environment:\n" +
			"      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app\n      COPY: \"again ${DB_PASSWORD}, price $$5\"\n" +
			"      PORT: ${PORT}\n      OTHER_PORT: \"18080\"\n      DEBUG: ${DEBUG}\n      READ: \"1\"\n",
		".env": "DB_PASSWORD=s3cr3t-pa$$word\nPORT=80\nDEBUG=1\nUNUSED=web\n",
	})
	p, err := Load(context.Background(), LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Render(p, RenderOptions{App: "shop", Colour: version.Blue, Version: "v1", Stateless: []string{"web"},
		Ports: map[string]PortMap{"web": {Container: 8000, Host: 18001}}})
	if err != nil {
		t.Fatal(err)
	}
	real, err := r.Colour.YAML()
	if err != nil {
		t.Fatal(err)
	}
	masked, err := r.Colour.MaskedYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DATABASE_URL: postgres://app:s3cr3t-pa$$word@db/app", "COPY: again s3cr3t-pa$$word, price $$5"} {
		if !strings.Contains(string(real), want) {
			t.Errorf("YAML lacks the real value %q:\n%s", want, real)
		}
	}
	for _, want := range []string{
		"DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app", "COPY: again ${DB_PASSWORD}, price $$5",
		"PORT: ${PORT}", `OTHER_PORT: "18080"`, "DEBUG: ${DEBUG}", "READ: ${DEBUG}", "web:", "image: x:v1",
	} {
		if !strings.Contains(string(masked), want) {
			t.Errorf("MaskedYAML lacks %q:\n%s", want, masked)
		}
	}
	if strings.Contains(string(masked), "s3cr3t") {
		t.Errorf("MaskedYAML shows the password:\n%s", masked)
	}
}

// TestServiceVariable reads what a service's containers get, as the
// official postgres image reads POSTGRES_USER: the service's environment
// first, then its env_file (passed in, as read on the host); a service
// without env_file does not see the env file's variables.
func TestServiceVariable(t *testing.T) {
	dir := writeCompose(t, map[string]string{
		"docker-compose.yml": "services:\n  db:\n    image: pg\n    env_file: .env.production\n  cache:\n    image: redis\n    environment: {POSTGRES_DB: fromenv}\n",
	})
	p, err := Load(context.Background(), LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	file := []string{"POSTGRES_USER=thebot", "POSTGRES_DB=thebot_db"}
	for _, c := range []struct {
		service, key, want string
		ok                 bool
	}{
		{"db", "POSTGRES_USER", "thebot", true},
		{"db", "POSTGRES_DB", "thebot_db", true},
		{"db", "POSTGRES_PASSWORD", "", false},
		{"cache", "POSTGRES_USER", "", false},
		{"cache", "POSTGRES_DB", "fromenv", true},
		{"nosuch", "POSTGRES_USER", "", false},
	} {
		got, ok := p.ServiceVariable(c.service, c.key, file)
		if got != c.want || ok != c.ok {
			t.Errorf("ServiceVariable(%s, %s) = %q, %v; want %q, %v", c.service, c.key, got, ok, c.want, c.ok)
		}
	}
}
