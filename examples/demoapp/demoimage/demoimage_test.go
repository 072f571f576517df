package demoimage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"

	bscontainer "github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

func TestBuildRejectsBadReferences(t *testing.T) {
	for _, c := range [][2]string{{"Upper", "v1"}, {"ok", "v 1"}, {"ok", ""}, {"", "v1"}} {
		if _, err := Build(context.Background(), nil, c[0], c[1]); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("Build(%q, %q) = %v, want ErrInvalidRef", c[0], c[1], err)
		}
	}
}

func TestBuildAndRun(t *testing.T) {
	cli := hosttest.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	repo := fmt.Sprintf("blueshift-demoapp-test-%d", time.Now().UnixNano())
	start := time.Now()
	ref, err := Build(ctx, cli, repo, "v1.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %s", ref, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	if ref != repo+":v1.0.1" {
		t.Errorf("ref %q", ref)
	}
	// A second build reuses the compiled binary.
	start = time.Now()
	if _, err := Build(ctx, cli, repo, "v1.0.2"); err != nil {
		t.Fatal(err)
	}
	t.Logf("second build in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), repo+":v1.0.2", image.RemoveOptions{Force: true, PruneChildren: true})
	})

	media := t.TempDir()
	if err := os.Chmod(media, 0o777); err != nil {
		t.Fatal(err)
	}
	created, err := cli.ContainerCreate(ctx,
		&container.Config{Image: ref, Env: []string{"BLUESHIFT_COLOUR=green"}, Labels: map[string]string{Label: "1"}},
		&container.HostConfig{
			PortBindings: nat.PortMap{Port + "/tcp": {{HostIP: "127.0.0.1"}}},
			Mounts:       []mount.Mount{{Type: mount.TypeBind, Source: media, Target: "/media"}},
		}, nil, nil, repo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	insp, err := cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	bound := insp.NetworkSettings.Ports[Port+"/tcp"]
	if len(bound) == 0 {
		t.Fatalf("port %s not published: %v", Port, insp.NetworkSettings.Ports)
	}
	base := "http://127.0.0.1:" + bound[0].HostPort

	// The image's HEALTHCHECK (the binary's own subcommand) turns healthy.
	deadline := time.Now().Add(60 * time.Second)
	for {
		h, err := bscontainer.ContainerHealth(ctx, cli, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status == bscontainer.HealthHealthy {
			break
		}
		if time.Now().After(deadline) || !h.Running {
			logs, _ := bscontainer.Logs(ctx, cli, created.ID, 50)
			t.Fatalf("container not healthy: %+v\nlogs:\n%s", h, logs)
		}
		time.Sleep(250 * time.Millisecond)
	}

	resp, err := http.Get(base + "/api/version")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil || v["version"] != "v1.0.1" || v["colour"] != "green" {
		t.Fatalf("/api/version = %s (%v)", body, err)
	}
	if resp.Header.Get("X-Blueshift-Colour") != "green" || resp.Header.Get("X-App-Version") != "v1.0.1" {
		t.Errorf("headers %v", resp.Header)
	}

	req, _ := http.NewRequest(http.MethodPut, base+"/media/hello.txt", strings.NewReader("hi"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("PUT media: %v %v", resp, err)
	}
	if data, err := os.ReadFile(filepath.Join(media, "hello.txt")); err != nil || string(data) != "hi" {
		t.Errorf("media file on the host: %q %v", data, err)
	}

	res, err := bscontainer.Exec(ctx, cli, created.ID, []string{Binary, "migrate"}, nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("migrate: %+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(media, ".migrated-v1.0.1")); err != nil {
		t.Errorf("migrate marker: %v", err)
	}
	res, err = bscontainer.Exec(ctx, cli, created.ID, []string{Binary, "migrate"}, []string{"FAIL_MIGRATE=1"})
	if err != nil || res.ExitCode != 1 {
		t.Fatalf("migrate with FAIL_MIGRATE=1: %+v %v", res, err)
	}

	// SIGTERM stops it cleanly.
	timeout := 10
	if err := cli.ContainerStop(ctx, created.ID, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	insp, err = cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if insp.State.ExitCode != 0 {
		t.Errorf("exit code after SIGTERM: %d", insp.State.ExitCode)
	}
}
