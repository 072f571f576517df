package host_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// Commands run through one shared shell: 200 commands open one SSH
// session, where each used to open its own (and start the login shell
// again). On 8fa63d2 every command was a session: a deployment ran 231 of
// them, ~0.5 s each behind a slow login shell. The timings are logged, not
// asserted; the session counts are.
func TestSSHTwoHundredCommandsOneSession(t *testing.T) {
	t.Parallel()
	const commands = 200
	u := newShellUser(t)
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{ExtraConfig: u.sshdConfig()})
	u.authorize(t, d)
	for _, shell := range []struct {
		name  string
		delay string
	}{{"plain /bin/sh login", ""}, {"login shell sleeping 100ms", "sleep 0.1"}} {
		u.setShell(t, shell.delay)
		for _, mode := range []string{host.SessionsPerCommand, host.SessionsShared} {
			cfg := d.Config()
			cfg.User = u.name
			cfg.Sessions = mode
			h := d.Connect(cfg)
			ctx := testCtx(t)
			start := time.Now()
			for i := 0; i < commands; i++ {
				if err := h.Run(ctx, host.Cmd{Argv: []string{"true"}}); err != nil {
					t.Fatalf("%s, %s: command %d: %v", shell.name, mode, i, err)
				}
			}
			took := time.Since(start)
			t.Logf("%s, %s: %d × true in %s (%s each), %d SSH sessions", shell.name, mode, commands,
				took.Round(time.Millisecond), (took / commands).Round(10*time.Microsecond), h.SessionsOpened())
			want := int64(commands)
			if mode == host.SessionsShared {
				want = 1
			}
			if got := h.SessionsOpened(); got != want {
				t.Errorf("%s, %s: %d SSH sessions opened for %d commands, want %d", shell.name, mode, got, commands, want)
			}
			h.Close()
		}
	}
}

// shellUser is a system user whose login shell is a script this test
// rewrites: a plain exec of /bin/sh, or a slow start-up first.
type shellUser struct {
	name  string
	dir   string // holds the shell script and authorized_keys, 0755
	shell string
}

// newShellUser creates the user (useradd; the test runs as root in CI)
// and deletes it at cleanup.
func newShellUser(t *testing.T) *shellUser {
	t.Helper()
	dir, err := os.MkdirTemp("", "bs-shell")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := make([]byte, 4)
	rand.Read(b)
	u := &shellUser{name: "bs-sh-" + hex.EncodeToString(b), dir: dir, shell: filepath.Join(dir, "shell")}
	u.setShell(t, "")
	_, err = exec.LookPath("useradd")
	if err == nil && os.Geteuid() != 0 {
		err = errors.New("not root")
	}
	hosttest.Require(t, "root and useradd (a user with a slow login shell)", err)
	// "*" rather than useradd's locked "!": sshd refuses keys for a
	// locked account.
	if out, err := exec.Command("useradd", "-M", "-d", dir, "-s", u.shell, "-p", "*", u.name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", u.name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", u.name, err, out)
		}
	})
	return u
}

// setShell writes the login shell: run delay (a shell command), then exec
// /bin/sh with sshd's arguments.
func (u *shellUser) setShell(t *testing.T, delay string) {
	t.Helper()
	script := "#!/bin/sh\n" + delay + "\nexec /bin/sh \"$@\"\n"
	tmp := u.shell + ".new"
	if err := os.WriteFile(tmp, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, u.shell); err != nil {
		t.Fatal(err)
	}
}

// sshdConfig lets the user log in with the test sshd's client key, from an
// authorized_keys file the user can read.
func (u *shellUser) sshdConfig() string {
	return fmt.Sprintf("Match User %s\n\tAuthorizedKeysFile %s\n", u.name, filepath.Join(u.dir, "authorized_keys"))
}

// authorize copies d's authorized_keys where the user can read it.
func (u *shellUser) authorize(t *testing.T, d *hosttest.SSHD) {
	t.Helper()
	keys, err := os.ReadFile(filepath.Join(d.Dir, "authorized_keys"))
	if err == nil {
		err = os.WriteFile(filepath.Join(u.dir, "authorized_keys"), keys, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// When the shared shell dies under a live connection, the command running
// in it fails with ErrConnectionLost and the next command starts a new
// shell.
func TestSSHSharedShellDiesAndIsReopened(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	h := d.Connect(d.Config())
	ctx := testCtx(t)
	if _, err := host.Output(ctx, h, "true"); err != nil {
		t.Fatal(err)
	}
	// The program's parent is the shared shell.
	err := h.Run(ctx, host.Cmd{Argv: []string{"sh", "-c", "kill -KILL $PPID"}})
	if !errors.Is(err, host.ErrConnectionLost) {
		t.Errorf("err = %v, want ErrConnectionLost", err)
	}
	out, err := host.Output(ctx, h, "echo", "again")
	if err != nil || string(out) != "again\n" {
		t.Fatalf("next command: %q, %v", out, err)
	}
	// The first shell, the second, and the kill of the orphaned command.
	if n := h.SessionsOpened(); n < 2 || n > 3 {
		t.Errorf("%d sessions opened, want 2 or 3", n)
	}
}

// A network cut under the shared shell fails the running command and
// later ones with ErrConnectionLost, as it does for sessions per command.
func TestSSHConnectionCutBothSessionModes(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	for _, mode := range []string{host.SessionsShared, host.SessionsPerCommand} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			p := hosttest.StartTCPProxy(t, d.Addr)
			cfg := d.ConfigVia(p.Addr)
			cfg.Sessions = mode
			cfg.KeepaliveInterval = 100 * time.Millisecond
			cfg.KeepaliveTimeout = 300 * time.Millisecond
			h := d.Connect(cfg)
			ctx := testCtx(t)
			if _, err := host.Output(ctx, h, "true"); err != nil {
				t.Fatal(err)
			}
			started := &signalWriter{match: "started", seen: make(chan struct{})}
			errc := make(chan error, 1)
			go func() {
				errc <- h.Run(ctx, host.Cmd{Argv: []string{"sh", "-c", "echo started; exec sleep 30"}, Stdout: started})
			}()
			select {
			case <-started.seen:
			case err := <-errc:
				t.Fatalf("command ended early: %v", err)
			}
			p.Cut()
			select {
			case err := <-errc:
				if !errors.Is(err, host.ErrConnectionLost) {
					t.Errorf("running command: err = %v, want ErrConnectionLost", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("running command did not notice the cut within 10s")
			}
			if _, err := host.Output(ctx, h, "true"); !errors.Is(err, host.ErrConnectionLost) {
				t.Errorf("later Run: err = %v, want ErrConnectionLost", err)
			}
		})
	}
}

// Sessions "per-command" and BLUESHIFT_SSH_SESSION choose the mode; an
// unknown value is refused naming where it came from.
func TestSSHSessionsSetting(t *testing.T) {
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	cfg := d.Config()
	cfg.Sessions = "pooled"
	err := connectErr(t, cfg)
	if err == nil || !strings.Contains(err.Error(), `SSHConfig.Sessions: "pooled"`) {
		t.Errorf("err = %v, want it to name SSHConfig.Sessions", err)
	}
	cfg.Sessions = ""
	t.Setenv(host.SessionsEnv, "nope")
	err = connectErr(t, cfg)
	if err == nil || !strings.Contains(err.Error(), host.SessionsEnv+`: "nope"`) {
		t.Errorf("err = %v, want it to name %s", err, host.SessionsEnv)
	}
	t.Setenv(host.SessionsEnv, host.SessionsPerCommand)
	h := d.Connect(cfg)
	for i := 0; i < 3; i++ {
		if _, err := host.Output(context.Background(), h, "true"); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.SessionsOpened(); n != 3 {
		t.Errorf("%s=per-command: %d sessions for 3 commands", host.SessionsEnv, n)
	}
}

// Counting counts every Run and its time; Sub attributes them to a span.
func TestCountingRunner(t *testing.T) {
	t.Parallel()
	c := host.NewCounting(host.NewLocal())
	ctx := testCtx(t)
	if _, err := host.Output(ctx, c, "true"); err != nil {
		t.Fatal(err)
	}
	before := c.Stats()
	_ = c.Run(ctx, host.Cmd{Argv: []string{"false"}})
	if err := host.WriteFileAtomic(ctx, c, filepath.Join(t.TempDir(), "f"), strings.NewReader("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	span := c.Stats().Sub(before)
	if c.Stats().Commands != 1+span.Commands || span.Commands < 2 {
		t.Errorf("stats %+v, span %+v", c.Stats(), span)
	}
	if span.Time <= 0 {
		t.Errorf("span time %s", span.Time)
	}
}

// The shared shell holds a session slot while idle; a command that needs a
// session of its own when every slot is taken gets the shell's slot
// instead of waiting for ever.
func TestSSHIdleSharedShellGivesUpItsSlot(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	cfg := d.Config()
	cfg.MaxSessions = 1
	h := d.Connect(cfg)
	ctx := testCtx(t)
	if _, err := host.Output(ctx, h, "true"); err != nil { // opens the shell
		t.Fatal(err)
	}
	// A stdin that is not in memory needs a session of its own.
	out, err := runOut(t, h, host.Cmd{Argv: []string{"cat"}, Stdin: io.MultiReader(strings.NewReader("streamed"))})
	if err != nil || out != "streamed" {
		t.Fatalf("streamed stdin: %q, %v", out, err)
	}
	if out, err := host.Output(ctx, h, "echo", "shared again"); err != nil || string(out) != "shared again\n" {
		t.Fatalf("after: %q, %v", out, err)
	}
}
