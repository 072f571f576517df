package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
)

func loadCompose(t *testing.T, yml string) *compose.Project {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := compose.Load(context.Background(), compose.LoadOptions{Dir: dir, NoDotEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProposeConfig pins the split (by image, by data volume; a stateless
// service's media volume stays stateless), the ports, the health path and
// the refusals.
func TestProposeConfig(t *testing.T) {
	p := loadCompose(t, `services:
  api:
    image: ghcr.io/acme/api:1
    ports: ["8000"]
    volumes: [media:/media]
    healthcheck: {test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:8000/ready?x=1 || exit 1"]}
  worker: {image: ghcr.io/acme/api:1}
  db: {image: "registry.local:5000/mirror/postgres:16"}
  search: {image: acme/indexer, volumes: ["idx:/var/lib/indexer"]}
volumes: {media: {}, idx: {}}
`)
	prop, err := ProposeConfig(p, ProposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	y := string(prop.YAML)
	for _, want := range []string{"app: shop\n", "      stateless: [api, worker]\n      shared: [db, search]\n",
		"      api: {container: 8000, blue: 8001, green: 8002}\n", "backend: {service: api, url: /ready}\n", "- {path: /ready, expect: [200]}\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("lacks %q:\n%s", want, y)
		}
	}
	if !strings.Contains(prop.ProxySnippet, "proxy_pass http://shop_production_api;") {
		t.Errorf("snippet:\n%s", prop.ProxySnippet)
	}
	for yml, want := range map[string]string{
		"services:\n  db: {image: postgres}\n":                   "at least one stateless service",
		"services:\n  worker: {image: acme/worker}\n":            "no stateless service publishes a port",
		"services:\n  api: {image: acme/api, ports: [\"80\"]}\n": `proxy "traefik": want nginx or caddy`,
	} {
		if _, err := ProposeConfig(loadCompose(t, yml), ProposeOptions{Proxy: map[bool]string{true: "traefik"}[strings.Contains(yml, "api")]}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", yml, err, want)
		}
	}
}
