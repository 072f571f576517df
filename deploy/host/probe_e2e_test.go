package host_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// TestProbeHostOverSSHRealCompose: over OpenSSH's sshd, ProbeHost's one
// command feeds the file to the real `docker compose` as the login user:
// Compose's own refusal comes back, a file it reads passes, and the login
// user reaches the Docker daemon.
func TestProbeHostOverSSHRealCompose(t *testing.T) {
	t.Parallel()
	hosttest.Require(t, "docker compose", exec.Command("docker", "compose", "version").Run())
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	h := d.Connect(d.Config())
	defer h.Close()
	dir := t.TempDir()
	probe := host.ProbeOptions{DiskDir: dir, WriteDir: filepath.Join(dir, "app"), Docker: true,
		Compose:     []string{"docker", "compose", "--project-name", "probe"},
		ComposeFile: []byte("services:\n  web:\n    image: nginx:alpine\n    ports: [{target: 80, published: \"8080\", host_ip: 127.0.0.1}]\n")}
	res, err := host.ProbeHost(context.Background(), h, probe)
	if err != nil {
		t.Fatal(err)
	}
	if res.ComposeErr != nil || res.DockerErr != nil || res.WriteErr != nil || res.User != d.User {
		t.Fatalf("a file Compose reads: compose %v, docker %v, write %v, user %q (want %q)", res.ComposeErr, res.DockerErr, res.WriteErr, res.User, d.User)
	}
	probe.ComposeFile = []byte("services:\n  web:\n    image: nginx:alpine\n    ports: [{target: 80, bogus_option: 1}]\n")
	if res, err = host.ProbeHost(context.Background(), h, probe); err != nil {
		t.Fatal(err)
	}
	if res.ComposeErr == nil || !strings.Contains(res.ComposeErr.Error(), "bogus_option") {
		t.Fatalf("a file Compose refuses: %v", res.ComposeErr)
	}
}
