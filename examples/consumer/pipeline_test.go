package shopdeploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/examples/demoapp/demoimage"

	shopdeploy "example.com/shop-deploy"
)

// TestWarmCacheRunsBeforeSwitch deploys the demo app on the local Docker
// Engine with the shop's pipeline and checks its own phase ran, in place.
func TestWarmCacheRunsBeforeSwitch(t *testing.T) {
	ctx := context.Background()
	cli := hosttest.Docker(t)
	app := fmt.Sprintf("shop%d", rand.IntN(1e6))
	repo := "blueshift-consumer/" + app
	if _, err := demoimage.Build(ctx, cli, repo, "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("docker", "compose", "-p", app+"-blue", "down", "-v", "-t", "1").Run()
		_ = exec.Command("docker", "network", "rm", app+"_net").Run()
		_ = exec.Command("docker", "rmi", "-f", repo+":v1.0.0").Run()
	})
	dir := t.TempDir()
	port := 30000 + rand.IntN(10000)
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docker-compose.yml", "services:\n  web:\n    image: "+repo+":latest\n    ports: [\"8000:8000\"]\n")
	write("deploy.yml", fmt.Sprintf(`app: %s
environments:
  production:
    host: {address: local}
    path: %s
    services: {stateless: [web]}
    ports: {web: {container: 8000, blue: %d, green: %d}}
    proxy: {kind: none}
    health:
      backend: {url: /api/health/, service: web, attempts: 40, interval: 250ms, timeout: 30s}
    monitor: {window: 1s, interval: 250ms}
    backup: {enabled: false}
    timeouts: {drain: 100ms}
`, app, filepath.Join(dir, "srv"), port, port+1))

	var order []string
	d, err := shopdeploy.Deploy(ctx, filepath.Join(dir, "deploy.yml"), "production", version.MustParse("v1.0.0"), deploy.Options{})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	for _, p := range d.Report.Phases {
		order = append(order, p.Name)
	}
	if d.Values["warmed"] != fmt.Sprintf("http://127.0.0.1:%d/", port) {
		t.Errorf("warm-cache did not warm blue's port: %v", d.Values["warmed"])
	}
	idx := map[string]int{}
	for i, n := range order {
		idx[n] = i
	}
	if !(idx["smoke"] < idx["warm-cache"] && idx["warm-cache"] < idx["switch"]) {
		t.Errorf("warm-cache is not just before the switch: %v", order)
	}
}
