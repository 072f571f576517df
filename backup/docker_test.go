package backup

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// buildSleeperImage builds a FROM-scratch image holding a static Go binary
// that sleeps (nothing can be pulled here) and removes it after the test.
func buildSleeperImage(t *testing.T) string {
	t.Helper()
	hosttest.Require(t, "Docker Engine", exec.Command("docker", "version").Run())
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":     "module sleeper\n\ngo 1.22\n",
		"main.go":    "package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(time.Hour) }\n",
		"Dockerfile": "FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", "sleeper", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build sleeper: %v: %s", err, out)
	}
	tag := "bs-backup-test-sleeper:" + randHex(4)
	if out, err := exec.Command("docker", "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// TestDockerStateReal snapshots real running containers.
func TestDockerStateReal(t *testing.T) {
	t.Parallel()
	image := buildSleeperImage(t)
	project := "bs-backup-" + randHex(4)
	for _, colour := range []string{"blue", "green"} {
		name := project + "-" + colour + "-web-1"
		out, err := exec.Command("docker", "run", "-d", "--name", name,
			"--label", "blueshift.colour="+colour,
			"--label", "com.docker.compose.project="+project+"-"+colour,
			"--label", "com.docker.compose.service=web", image).CombinedOutput()
		if err != nil {
			t.Fatalf("docker run: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	}
	d := &DockerState{Filters: []string{
		"label=com.docker.compose.project=" + project + "-blue",
		"label=com.docker.compose.project=" + project + "-green",
	}}
	dir := t.TempDir()
	arts, err := d.Backup(context.Background(), host.NewLocal(), dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, arts[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Containers) != 2 {
		t.Fatalf("snapshot %s: want 2 containers", data)
	}
	for i, colour := range []string{"blue", "green"} {
		c := snap.Containers[i]
		if c.Colour != colour || c.Project != project+"-"+colour || c.Service != "web" || c.Image != image ||
			!strings.HasPrefix(c.ImageID, "sha256:") || c.State != "running" || c.Name != project+"-"+colour+"-web-1" {
			t.Errorf("container %d = %+v", i, c)
		}
	}
}
