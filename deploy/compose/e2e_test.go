package compose_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	bscontainer "github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

func freePort(t *testing.T) uint32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint32(l.Addr().(*net.TCPAddr).Port)
}

func run(t *testing.T, cmd host.Cmd) string {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := host.NewLocal().Run(context.Background(), cmd); err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Argv, " "), err)
	}
	return out.String()
}

// TestDeployColoursWithRealCompose renders blue and green from one compose
// file and runs them with the real docker compose beside the shared project:
// colours reach the shared service by name, publish on their own loopback
// ports, and neither a second colour nor a second shared `up` recreates the
// shared service.
func TestDeployColoursWithRealCompose(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command("docker", "compose", "version", "--short").Output(); err != nil || !strings.HasPrefix(strings.TrimPrefix(string(out), "v"), "2.") {
		hosttest.Require(t, "Docker Compose v2", fmt.Errorf("docker compose version: %q %v", out, err))
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		_, err = cli.Ping(context.Background())
	}
	hosttest.Require(t, "Docker Engine", err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	suffix := fmt.Sprintf("%x", time.Now().UnixNano())[6:]
	app := "bse2e" + suffix
	repo := "blueshift-test-e2e-" + suffix + "/app"
	bin := filepath.Join(t.TempDir(), "testserver")
	if err := bscontainer.BuildGoBinary(ctx, "../container/testdata/testserver", bin); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "v2", "shared"} {
		ref := repo + ":" + tag
		err := bscontainer.BuildScratchImage(ctx, cli, bscontainer.ScratchImage{
			Tag: ref, Binary: bin, Entrypoint: []string{"/testserver"}, Labels: map[string]string{"blueshift.test": "1"},
			Healthcheck: &bscontainer.HealthcheckSpec{Test: []string{"/testserver", "health"}, Interval: 500 * time.Millisecond, Retries: 20},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true}) })
	}

	p, err := compose.Load(ctx, compose.LoadOptions{Dir: "testdata/e2e", Env: []string{"IMAGE_REPO=" + repo}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	detected, _, err := compose.DetectCLI(ctx, host.NewLocal())
	if err != nil {
		t.Fatal(err)
	}
	clis := map[string]compose.CLI{}
	ports := map[version.Colour]uint32{}
	rendered := map[version.Colour]*compose.Rendered{}
	for colour, tag := range map[version.Colour]string{version.Blue: "v1", version.Green: "v2"} {
		ports[colour] = freePort(t)
		r, err := compose.Render(p, compose.RenderOptions{
			App: app, Colour: colour, Version: tag, DeploymentID: "e2e-" + string(colour),
			Shared: []string{"db"}, Ports: map[string]compose.PortMap{"web": {Container: 8080, Host: ports[colour]}},
		})
		if err != nil {
			t.Fatal(err)
		}
		rendered[colour] = r
		for _, rp := range []*compose.RenderedProject{r.Colour, r.Shared} {
			data, err := rp.YAML()
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, rp.Name()+".yml")
			if err := os.WriteFile(file, data, rp.FileMode()); err != nil {
				t.Fatal(err)
			}
			c := detected
			c.ProjectName, c.Files, c.Dir = rp.Name(), []string{file}, dir
			clis[rp.Name()] = c
		}
	}
	r := rendered[version.Blue]
	t.Cleanup(func() {
		for _, c := range clis {
			host.NewLocal().Run(context.Background(), c.Down(false))
		}
		for _, v := range r.Volumes {
			cli.VolumeRemove(context.Background(), v.Name, true)
		}
		for _, n := range r.Networks {
			cli.NetworkRemove(context.Background(), n.Name)
		}
	})
	for _, v := range r.Volumes {
		if err := bscontainer.EnsureVolume(ctx, cli, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range r.Networks {
		if err := bscontainer.EnsureNetwork(ctx, cli, n); err != nil {
			t.Fatal(err)
		}
	}

	shared := clis[app]
	run(t, shared.UpNoRecreate())
	dbBefore, err := bscontainer.Containers(ctx, cli, app, compose.SharedColour)
	if err != nil || len(dbBefore) != 1 {
		t.Fatalf("shared containers %+v %v", dbBefore, err)
	}
	start := time.Now()
	blue := clis[compose.ColourProject(app, version.Blue)]
	run(t, blue.Up(90*time.Second))
	t.Logf("blue up --wait took %v", time.Since(start).Round(time.Millisecond))

	get := func(port uint32, path string) string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}
	if got := get(ports[version.Blue], "/"); got != "web" {
		t.Errorf("blue web on its loopback port: %q", got)
	}
	if got := run(t, blue.Exec("web", nil, "/testserver", "get", "http://db:8080/")); strings.TrimSpace(got) != "shared-db" {
		t.Errorf("blue web -> db: %q", got)
	}

	// Green beside blue, and the shared project brought up again.
	green := clis[compose.ColourProject(app, version.Green)]
	run(t, green.Up(90*time.Second))
	run(t, shared.UpNoRecreate())
	if got := get(ports[version.Green], "/"); got != "web" {
		t.Errorf("green web: %q", got)
	}
	if got := get(ports[version.Blue], "/"); got != "web" {
		t.Errorf("blue web after green started: %q", got)
	}
	dbAfter, _ := bscontainer.Containers(ctx, cli, app, compose.SharedColour)
	if len(dbAfter) != 1 || dbAfter[0].ID != dbBefore[0].ID {
		t.Errorf("shared db recreated: before %v after %v", dbBefore, dbAfter)
	}
	for colour, tag := range map[version.Colour]string{version.Blue: "v1", version.Green: "v2"} {
		cs, err := bscontainer.Containers(ctx, cli, app, string(colour))
		if err != nil || len(cs) != 2 || cs[0].Service != "web" || cs[1].Service != "worker" {
			t.Fatalf("%s containers %+v %v", colour, cs, err)
		}
		for _, c := range cs {
			if c.Labels[compose.LabelVersion] != tag || c.Image != repo+":"+tag || c.Project != compose.ColourProject(app, colour) {
				t.Errorf("%s %s: labels %v image %s", colour, c.Service, c.Labels, c.Image)
			}
		}
	}

	// Which colour answers the bare name "web" from inside green? Both
	// colours' web sit on the shared network under that alias.
	greenWeb, _ := bscontainer.Containers(ctx, cli, app, string(version.Green))
	own, other := 0, 0
	for i := 0; i < 10; i++ {
		h := strings.TrimSpace(run(t, green.Exec("worker", nil, "/testserver", "get", "http://web:8080/hostname")))
		if strings.HasPrefix(greenWeb[0].ID, h) {
			own++
		} else {
			other++
		}
	}
	t.Logf("from green's worker, http://web answered by green %d times, by blue %d times", own, other)
	if other > 0 {
		t.Errorf("a colour reached the other colour's web by its service name (%d of 10)", other)
	}

	// Removing blue leaves the shared volume, network and service alone.
	run(t, blue.Down(false))
	if cs, _ := bscontainer.Containers(ctx, cli, app, string(version.Blue)); len(cs) != 0 {
		t.Errorf("blue containers after down: %v", cs)
	}
	for _, v := range r.Volumes {
		if _, err := cli.VolumeInspect(ctx, v.Name); err != nil {
			t.Errorf("volume %s after blue down: %v", v.Name, err)
		}
	}
	if got := run(t, green.Exec("web", nil, "/testserver", "get", "http://db:8080/")); strings.TrimSpace(got) != "shared-db" {
		t.Errorf("green web -> db after blue down: %q", got)
	}
	h, err := bscontainer.ContainerHealth(ctx, cli, dbAfter[0].ID)
	if err != nil || h.Status != bscontainer.HealthHealthy {
		t.Errorf("db health %+v %v", h, err)
	}
}
