package targets

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
)

// logsExecApp starts, on the local Docker Engine, a container labelled as
// service web of env's app in colour blue (a scratch image of
// deploy/container's test server, which prints "line 1".."line 3" and
// serves), records blue as live, and removes the container when t ends.
func logsExecApp(t *testing.T, env map[string]string, app string) {
	t.Helper()
	cli := hosttest.Docker(t)
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "testserver")
	if err := container.BuildGoBinary(ctx, "../../deploy/container/testdata/testserver", bin); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(env["DEPLOY_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`(?m)^app: (\S+)`).FindStringSubmatch(string(data))[1]
	tag := "blueshift-test-logs-" + name + ":v1"
	if err := container.BuildScratchImage(ctx, cli, container.ScratchImage{Tag: tag, Binary: bin}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	ctr := name + "-blue-web-1"
	out, err := exec.Command("docker", "run", "-d", "--name", ctr, "--label", "blueshift.app="+name, "--label", "blueshift.colour=blue",
		"--label", "com.docker.compose.service=web", "--label", "blueshift.test=1", tag, "log", "3").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", ctr).Run() })
	// A shared service, cache, whose container prints one line.
	cache := name + "-cache-1"
	out, err = exec.Command("docker", "run", "-d", "--name", cache, "--label", "blueshift.app="+name, "--label", "blueshift.colour=shared",
		"--label", "com.docker.compose.service=cache", "--label", "blueshift.test=1", tag, "log", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", cache).Run() })
	shared := strings.Replace(string(data), "services: {stateless: [web]}", "services: {stateless: [web], shared: [cache]}", 1)
	if err := os.WriteFile(env["DEPLOY_CONFIG"], []byte(shared), 0o600); err != nil {
		t.Fatal(err)
	}
	composeFile := filepath.Join(filepath.Dir(env["DEPLOY_CONFIG"]), "docker-compose.yml")
	f, err := os.OpenFile(composeFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("  cache:\n    image: " + tag + "\n")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := state.New(host.NewLocal(), app).Update(ctx, func(s *state.State) { s.Live = "blue" }); err != nil {
		t.Fatal(err)
	}
}

// testLogsExec checks logs and exec through the compiled frontend on the
// local engine and over the real sshd (the Docker socket forwarded).
func testLogsExec(t *testing.T, bin string, mage mageFunc) {
	hosttest.Require(t, "docker", exec.Command("docker", "version").Run())
	env, app := localConfig(t, 18011, 18012, "")
	logsExecApp(t, env, app)
	t.Run("local", func(t *testing.T) { checkLogsExec(t, bin, mage, env, "production on local\n") })
	t.Run("sshd", func(t *testing.T) {
		sshd := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
		key := filepath.Join(t.TempDir(), "id")
		if err := os.WriteFile(key, sshd.ClientKeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		pinned := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshd.HostKeys[ssh.KeyAlgoED25519])))
		data, err := os.ReadFile(env["DEPLOY_CONFIG"])
		if err != nil {
			t.Fatal(err)
		}
		remote := strings.Replace(string(data), "host: {address: local}",
			`host: {address: "`+sshd.Addr+`", user: `+sshd.User+`, ssh_key_file: `+key+`, host_key: "`+pinned+`"}`, 1)
		cfg := filepath.Join(t.TempDir(), "deploy.yml")
		if err := os.WriteFile(cfg, []byte(remote), 0o600); err != nil {
			t.Fatal(err)
		}
		over := exampleEnv(cfg)
		over["BLUESHIFT_REPORT"] = env["BLUESHIFT_REPORT"]
		checkLogsExec(t, bin, mage, over, "production on ***\n")
	})
}

// checkLogsExec runs logs and exec against the app logsExecApp started.
func checkLogsExec(t *testing.T, bin string, mage mageFunc, env map[string]string, first string) {
	out, errOut, code := mage(t, env, "logs", "web", "-n=2")
	if code != 0 || out != "line 2\nline 3\n" || !strings.HasPrefix(errOut, first) {
		t.Errorf("logs web -n=2: exit %d, out %q, stderr %q", code, out, errOut)
	}
	// Every service: each line prefixed with its container's name.
	out, errOut, code = mage(t, env, "logs", "all", "-since=1h")
	web, cache := regexp.MustCompile(`(?m)^\S+-blue-web-1 \| line \d\n`), regexp.MustCompile(`(?m)^\S+-cache-1 \| line 1\n`)
	if code != 0 || len(web.FindAllString(out, -1)) != 3 || len(cache.FindAllString(out, -1)) != 1 || strings.Count(out, "\n") != 4 {
		t.Errorf("logs all: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if out, _, code := mage(t, env, "logs", "cache"); code != 0 || out != "line 1\n" {
		t.Errorf("logs cache (shared): exit %d, out %q", code, out)
	}
	if _, errOut, code := mage(t, env, "logs", "web", "-colour=green"); code != 1 || !strings.Contains(errOut, "no container of web in green on ") {
		t.Errorf("logs -colour=green: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := mage(t, env, "logs", "db"); code != 1 || !strings.Contains(errOut, `service "db": not in environments.production.services; known services are web, cache`) {
		t.Errorf("logs db: exit %d, stderr %q", code, errOut)
	}

	// exec: the command's exit code is the target's, its output streamed
	// and masked (it prints a secret).
	token := secrets["TELEGRAM_BOT_TOKEN"]
	out, errOut, code = mage(t, env, "exec", "web", "/testserver echo '"+token+" out' 'to stderr' 3")
	if code != 3 || out != "*** out" || !strings.Contains(errOut, "to stderr") || !strings.Contains(errOut, "exited 3 in web") {
		t.Errorf("exec: exit %d, out %q, stderr %q", code, out, errOut)
	}
	assertNoSecrets(t, out+errOut)
	if out, _, code := mage(t, env, "exec", "web", "/testserver echo ok '' 0"); code != 0 || out != "ok" {
		t.Errorf("exec exiting 0: exit %d, out %q", code, out)
	}
	if _, errOut, code := mage(t, env, "exec", "web", "'unterminated"); code != 1 || !strings.Contains(errOut, "want a command and its arguments") {
		t.Errorf("exec with a bad command: exit %d, stderr %q", code, errOut)
	}

	// logs -f follows until interrupted (SIGINT, as Ctrl-C sends), then
	// exits 0.
	cmd := exec.Command(bin, "logs", "web", "-f")
	cmd.Dir = "../.."
	cmd.Env = targetEnv(env)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() && sc.Text() != "line 3" {
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs -f after Ctrl-C: %v", err)
		}
	case <-time.After(60 * time.Second): // a hang, not a speed check
		cmd.Process.Kill()
		t.Error("logs -f did not stop on SIGINT")
	}
}
