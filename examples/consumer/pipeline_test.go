package shopdeploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/examples/demoapp/demoimage"

	shopdeploy "example.com/shop-deploy"
)

// sshHost is the real SSH host the deployment uses, noting the TCP
// addresses it dials and the phases as they start and finish, in one
// sequence.
type sshHost struct {
	host.Host
	mu  sync.Mutex
	seq []string
}

func (h *sshHost) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if network == "tcp" {
		h.note("dial " + addr)
	}
	return h.Host.DialContext(ctx, network, addr)
}

func (h *sshHost) note(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq = append(h.seq, s)
}

// TestWarmCacheOverSSH deploys the demo app through a real sshd with the
// shop's pipeline (the README's code) and checks that its own phase ran
// before the switch and reached the next colour's port through the SSH
// connection. On 8fa63d2 the phase (and the README snippet) dialled
// 127.0.0.1 from the machine running mage: over SSH that is the wrong
// machine, and the helper that dials through the host was unexported.
func TestWarmCacheOverSSH(t *testing.T) {
	ctx := context.Background()
	cli := hosttest.Docker(t)
	sshd := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
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
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("id_shop", string(sshd.ClientKeyPEM))
	pinned := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshd.HostKeys[ssh.KeyAlgoED25519])))
	write("docker-compose.yml", "services:\n  web:\n    image: "+repo+":latest\n    ports: [\"8000:8000\"]\n")
	config := write("deploy.yml", fmt.Sprintf(`app: %s
environments:
  production:
    host: {address: "%s", user: %s, ssh_key_file: %s, host_key: "%s"}
    path: %s
    services: {stateless: [web]}
    ports: {web: {container: 8000, blue: %d, green: %d}}
    proxy: {kind: none}
    health:
      backend: {url: /api/health/, service: web, attempts: 40, interval: 250ms, timeout: 30s}
    monitor: {window: 1s, interval: 250ms}
    backup: {enabled: false}
    timeouts: {drain: 100ms}
`, app, sshd.Addr, sshd.User, key, pinned, filepath.Join(dir, "srv"), port, port+1))

	h := &sshHost{Host: sshd.Connect(sshd.Config())}
	eng, err := deploy.NewFromFile(ctx, config, "production", deploy.Options{Host: h})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	p, err := shopdeploy.Pipeline(eng)
	if err != nil {
		t.Fatal(err)
	}
	d := eng.NewDeployment(version.MustParse("v1.0.0"))
	d.Observe = func(e deploy.Event) {
		if e.Kind == deploy.EventPhaseStarted || e.Kind == deploy.EventPhaseFinished {
			h.note(string(e.Kind) + " " + e.Phase)
		}
	}
	if err := p.Run(ctx, d); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	blue := fmt.Sprintf("127.0.0.1:%d", port)
	if d.Values["warmed"] != "http://"+blue {
		t.Errorf("warm-cache did not warm blue's port: %v", d.Values["warmed"])
	}
	h.mu.Lock()
	seq := slices.Clone(h.seq)
	h.mu.Unlock()
	start := slices.Index(seq, "phase-started warm-cache")
	end := slices.Index(seq, "phase-finished warm-cache")
	if start < 0 || end < start {
		t.Fatalf("warm-cache did not run: %q", seq)
	}
	if !slices.Contains(seq[start:end], "dial "+blue) {
		t.Errorf("warm-cache did not dial %s through the SSH host: %q", blue, seq[start:end+1])
	}
	if slices.Index(seq, "phase-finished smoke") > start || slices.Index(seq, "phase-started switch") < end {
		t.Errorf("warm-cache is not between smoke and the switch: %q", seq)
	}
}

// TestREADMESnippetIsThisCode: the README's "Adding your own phase" shows
// WarmCache and Pipeline exactly as this package has them, so the code
// people copy is the code TestWarmCacheOverSSH runs. On 8fa63d2 the
// snippet called an undefined warm() with a bare port, and nothing ran it.
func TestREADMESnippetIsThisCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Adding your own phase\n")
	_, block, ok2 := strings.Cut(section, "```go\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no Go block under \"### Adding your own phase\"")
	}
	src, err := os.ReadFile("pipeline.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), block) {
		t.Errorf("the README's snippet is not pipeline.go's code; copy it from there:\n%s", block)
	}
}
