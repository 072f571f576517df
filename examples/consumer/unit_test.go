package shopdeploy_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/version"

	shopdeploy "example.com/shop-deploy"
)

// TestWarmCacheUnit unit-tests the shop's own phase as an application
// repository can: the whole pipeline with WarmCache runs on a fake host
// (hosttest.Fake: no Docker, sshd or nginx, in well under a second), and
// the test sees the requests the phase sent to the next colour. The
// README's "Unit-testing your phase" shows this test's first lines
// (TestREADMEUnitSnippetIsThisTest).
func TestWarmCacheUnit(t *testing.T) {
	ctx := context.Background()
	fake := hosttest.NewFake(t) // Docker, compose and nginx in memory; files and scripts real
	fake.Model.AddImage("example.test/shop:v1.0.0")
	fake.Model.NginxIncludes(fake.Dir() + "/nginx/shop.conf") // the upstream file deploy.yml names
	eng, err := deploy.NewFromFile(ctx, "testdata/deploy.yml", "production", deploy.Options{
		Host: fake, Docker: fake.Engine(), Getenv: func(k string) string { return map[string]string{"APP_DIR": fake.Dir()}[k] }})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var mu sync.Mutex
	var homes []string // the colours whose home page was requested
	fake.Model.SetApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, _ := hosttest.ContainerOf(r); r.URL.Path == "/" {
			mu.Lock()
			homes = append(homes, c.Labels["blueshift.colour"]+" "+fake.Model.ProxyLive())
			mu.Unlock()
		}
	}))
	p, err := shopdeploy.Pipeline(eng)
	if err != nil {
		t.Fatal(err)
	}
	d := eng.NewDeployment(version.MustParse("v1.0.0"))
	if err := p.Run(ctx, d); err != nil {
		t.Fatal(err)
	}

	if got := d.Values["warmed"]; got != "http://127.0.0.1:47811" {
		t.Errorf("warmed %v, want blue's port", got)
	}
	mu.Lock()
	defer mu.Unlock()
	// Three requests to blue, while the proxy served nothing yet.
	if strings.Join(homes, ",") != "blue ,blue ,blue " {
		t.Errorf("home page requests (colour, proxy's colour then): %q", homes)
	}
	if fake.Model.ProxyLive() != "blue" {
		t.Errorf("the proxy serves %q after the deployment", fake.Model.ProxyLive())
	}
}

// TestREADMEUnitSnippetIsThisTest: the README's "Unit-testing your phase"
// block is TestWarmCacheUnit's own code, so what people copy runs here.
func TestREADMEUnitSnippetIsThisTest(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "#### Unit-testing your phase\n")
	_, block, ok2 := strings.Cut(section, "```go\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no Go block under \"#### Unit-testing your phase\"")
	}
	src, err := os.ReadFile("unit_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), block) {
		t.Errorf("the README's snippet is not TestWarmCacheUnit's code; copy it from there:\n%s", block)
	}
}
