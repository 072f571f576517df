package thebot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryUser is the account the local registry accepts (its password is
// generated on first use and kept in the workspace, 0600).
const RegistryUser = "thebot-ci"

// Registry is the workspace's Debian docker-registry: a real registry
// (distribution 2.8) on a loopback address, htpasswd authentication,
// storage in the workspace. The Docker Engine speaks plain HTTP to it
// because 127.0.0.0/8 is an insecure registry by default.
type Registry struct {
	// Addr is host:port; Username and Password log in to it.
	Addr, Username, Password string
	// Dir holds config.yml, htpasswd, data/, registry.log and registry.pid.
	Dir string
}

// Repository is the registry's repository for an image name
// ("127.0.0.1:15000/thebot/backend").
func (r *Registry) Repository(name string) string { return r.Addr + "/thebot/" + name }

func registryFor(o Options) *Registry {
	return &Registry{Addr: o.RegistryAddr, Username: RegistryUser, Dir: filepath.Join(o.Dir, "registry")}
}

// registryConfig is docker-registry's configuration.
func registryConfig(r *Registry, secret string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: %s
auth:
  htpasswd:
    realm: thebot-registry
    path: %s
`, filepath.Join(r.Dir, "data"), r.Addr, secret, filepath.Join(r.Dir, "htpasswd"))
}

// StartRegistry starts the workspace's registry unless it already answers,
// and returns it with its credentials. The registry keeps running after
// the process exits (its own session; stopped by Down).
func StartRegistry(ctx context.Context, o Options) (*Registry, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	r := registryFor(o)
	if err := os.MkdirAll(filepath.Join(r.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if r.Password, err = r.credentials(); err != nil {
		return nil, err
	}
	if pid, ok := r.running(); ok && r.answers(ctx) {
		o.progress("registry already running on %s (pid %d)", r.Addr, pid)
		return r, nil
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, fmt.Errorf("registry: Debian's docker-registry is not installed (run examples/thebot/setup.sh): %w", err)
	}
	conf := filepath.Join(r.Dir, "config.yml")
	if err := os.WriteFile(conf, []byte(registryConfig(r, randomHex(16))), 0o600); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(r.Dir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("registry: start %s: %w", bin, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := os.WriteFile(r.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !r.answers(ctx) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(r.Dir, "registry.log"))
			return nil, fmt.Errorf("registry: exited at start (%v): %s", err, tail(string(log), 800))
		case <-ctx.Done():
			return nil, fmt.Errorf("registry: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("registry: does not answer on %s after 15s (log %s)", r.Addr, filepath.Join(r.Dir, "registry.log"))
		}
	}
	o.progress("registry started on %s (pid %d, user %s)", r.Addr, pid, r.Username)
	return r, nil
}

// credentials returns the registry's password, creating it and the
// htpasswd file (bcrypt, as docker-registry requires) on first use.
func (r *Registry) credentials() (string, error) {
	pwFile := filepath.Join(r.Dir, "password")
	b, err := os.ReadFile(pwFile)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		if _, err := os.Stat(filepath.Join(r.Dir, "htpasswd")); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
	}
	pw := randomHex(16)
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("registry: htpasswd: %w", err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "htpasswd"), []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	return pw, nil
}

func (r *Registry) pidFile() string { return filepath.Join(r.Dir, "registry.pid") }

// running returns the pid in the pid file when it is a live docker-registry.
func (r *Registry) running() (int, bool) { return livePID(r.pidFile(), "docker-registry") }

// livePID returns the pid in pidFile when that process is alive and its
// command line holds name (a pid reused by another program does not count).
func livePID(pidFile, name string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), name) {
		return 0, false
	}
	return pid, true
}

// answers reports whether the registry's API answers (401 without
// credentials is an answer).
func (r *Registry) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Addr+"/v2/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusOK
}

// stop ends the workspace's registry, if it runs, and removes its pid file.
func (r *Registry) stop(ctx context.Context) (bool, error) {
	pid, ok := r.running()
	if ok {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100; i++ {
			if _, still := r.running(); !still {
				break
			}
			select {
			case <-ctx.Done():
				return false, fmt.Errorf("registry: waiting for pid %d to exit: %w", pid, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
		if _, still := r.running(); still {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err := os.Remove(r.pidFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ok, fmt.Errorf("registry: %w", err)
	}
	return ok, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
