package hosttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHDPath is the OpenSSH server the tests start.
const SSHDPath = "/usr/sbin/sshd"

// SSHDOptions changes the test server's sshd_config.
type SSHDOptions struct {
	// DisableTCPForwarding sets AllowTcpForwarding no.
	DisableTCPForwarding bool
	// DisableStreamLocalForwarding sets AllowStreamLocalForwarding no.
	DisableStreamLocalForwarding bool
	// DisableForwarding sets DisableForwarding yes (all forwarding off).
	DisableForwarding bool
	// ExtraConfig is appended to sshd_config verbatim.
	ExtraConfig string
}

// SSHD is a real OpenSSH sshd listening on 127.0.0.1 for one test, with
// its own host keys (ed25519, ecdsa and rsa), its own authorized_keys
// holding one fresh client key, logging to the test on failure. It runs
// as the current user, so only that user can log in.
type SSHD struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// User is the login user (the current user).
	User string
	// ClientKeyPEM is the authorized client key, OpenSSH PEM, unencrypted.
	ClientKeyPEM []byte
	// HostKeys are the server's public host keys by type: "ssh-ed25519",
	// "ecdsa-sha2-nistp256", "ssh-rsa".
	HostKeys map[string]ssh.PublicKey
	// Dir is the server's private directory (config, keys, logs).
	Dir string

	t       TB
	logMu   sync.Mutex
	log     bytes.Buffer
	authKey string // path of authorized_keys
}

// StartSSHD starts sshd for t and stops it in t.Cleanup. A machine without
// sshd or ssh-keygen fails the test in CI and skips it elsewhere. Options'
// ExtraConfig can slow the login down like a real server's shell
// start-up (SlowLoginConfig).
func StartSSHD(t TB, opts SSHDOptions) *SSHD {
	t.Helper()
	_, err := os.Stat(SSHDPath)
	if err == nil {
		_, err = exec.LookPath("ssh-keygen")
	}
	Require(t, "openssh-server (sshd)", err)
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		Require(t, "openssh-server (sshd): /run/sshd", err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshd: current user: %v", err)
	}
	d := &SSHD{User: u.Username, Dir: t.TempDir(), HostKeys: map[string]ssh.PublicKey{}, t: t}
	hostKeys := d.genHostKeys()
	d.ClientKeyPEM = d.genClientKey()

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("sshd: free port: %v", err)
		}
		d.Addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
		if lastErr = d.start(hostKeys, opts); lastErr == nil {
			return d
		}
	}
	t.Fatalf("sshd did not start: %v\n%s", lastErr, d.logs())
	return nil
}

func (d *SSHD) genHostKeys() []string {
	types := []struct{ name, bits string }{{"ed25519", ""}, {"ecdsa", "256"}, {"rsa", "2048"}}
	paths := make([]string, len(types))
	errs := make([]error, len(types))
	var wg sync.WaitGroup
	for i, kt := range types {
		paths[i] = filepath.Join(d.Dir, "ssh_host_"+kt.name+"_key")
		wg.Add(1)
		go func() {
			defer wg.Done()
			argv := []string{"-q", "-t", kt.name, "-N", "", "-C", "blueshift-test", "-f", paths[i]}
			if kt.bits != "" {
				argv = append(argv, "-b", kt.bits)
			}
			if out, err := exec.Command("ssh-keygen", argv...).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("ssh-keygen %s: %v: %s", kt.name, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		d.t.Fatalf("sshd host keys: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p + ".pub")
		if err != nil {
			d.t.Fatalf("sshd host key: %v", err)
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			d.t.Fatalf("sshd host key %s: %v", p, err)
		}
		d.HostKeys[k.Type()] = k
	}
	return paths
}

func (d *SSHD) genClientKey() []byte {
	pemBytes, pub := NewClientKey(d.t, "")
	d.authKey = filepath.Join(d.Dir, "authorized_keys")
	if err := os.WriteFile(d.authKey, ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		d.t.Fatalf("sshd authorized_keys: %v", err)
	}
	return pemBytes
}

// NewClientKey makes an ed25519 client key, encrypted with passphrase
// unless it is empty, and returns it as OpenSSH PEM with its public key.
func NewClientKey(t TB, passphrase string) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "blueshift-test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "blueshift-test", []byte(passphrase))
	}
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	return pem.EncodeToMemory(block), sshPub
}

// Authorize adds key to the server's authorized_keys.
func (d *SSHD) Authorize(key ssh.PublicKey) {
	d.t.Helper()
	f, err := os.OpenFile(d.authKey, os.O_APPEND|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.Write(ssh.MarshalAuthorizedKey(key))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		d.t.Fatalf("sshd authorize key: %v", err)
	}
}

func (d *SSHD) config(hostKeys []string, opts SSHDOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ListenAddress %s\n", d.Addr)
	for _, k := range hostKeys {
		fmt.Fprintf(&b, "HostKey %s\n", k)
	}
	fmt.Fprintf(&b, "PidFile %s\n", filepath.Join(d.Dir, "sshd.pid"))
	fmt.Fprintf(&b, "AuthorizedKeysFile %s\n", d.authKey)
	b.WriteString(`StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
MaxStartups 64
ClientAliveInterval 0
# bash reads ~/.bashrc for commands run by sshd unless SHLVL says it is
# nested; a slow .bashrc (pyenv, nvm) would cost every test command.
SetEnv SHLVL=1
`)
	fmt.Fprintf(&b, "AllowTcpForwarding %s\n", yesNo(!opts.DisableTCPForwarding))
	fmt.Fprintf(&b, "AllowStreamLocalForwarding %s\n", yesNo(!opts.DisableStreamLocalForwarding))
	fmt.Fprintf(&b, "DisableForwarding %s\n", yesNo(opts.DisableForwarding))
	b.WriteString(opts.ExtraConfig)
	return b.String()
}

// SlowLoginConfig is sshd_config text (for SSHDOptions.ExtraConfig) that
// makes every session start delay later, as a login shell that reads slow
// start-up files does: the command the client asked for runs under
// /bin/sh after `sleep`.
func SlowLoginConfig(delay time.Duration) string {
	return fmt.Sprintf("ForceCommand sleep %.3f; exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n", delay.Seconds())
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (d *SSHD) start(hostKeys []string, opts SSHDOptions) error {
	conf := filepath.Join(d.Dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(d.config(hostKeys, opts)), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(SSHDPath, "-D", "-e", "-f", conf)
	cmd.Stderr = d.logWriter()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", SSHDPath, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := banner(d.Addr); err == nil {
			break
		}
		select {
		case err := <-exited:
			return fmt.Errorf("sshd exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("sshd did not answer within 10s")
		}
	}
	d.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if d.t.Failed() {
			d.t.Logf("sshd %s log:\n%s", d.Addr, d.logs())
		}
	})
	return nil
}

// banner reads the SSH identification line from addr.
func banner(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("not an SSH server: %q", line)
	}
	return nil
}

type lockedWriter struct{ d *SSHD }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.d.logMu.Lock()
	defer w.d.logMu.Unlock()
	return w.d.log.Write(p)
}

func (d *SSHD) logWriter() lockedWriter { return lockedWriter{d} }

func (d *SSHD) logs() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// KnownHostsLine is the known_hosts line for the host key of keyType
// ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa").
func (d *SSHD) KnownHostsLine(keyType string) string {
	k, ok := d.HostKeys[keyType]
	if !ok {
		d.t.Fatalf("sshd has no %s host key", keyType)
	}
	return knownhosts.Line([]string{knownhosts.Normalize(d.Addr)}, k)
}

// KnownHostsLines is the known_hosts lines for all host keys.
func (d *SSHD) KnownHostsLines() []string { return d.knownHostsLinesFor(d.Addr) }

// knownHostsLinesFor is the known_hosts lines for all host keys, naming
// addr.
func (d *SSHD) knownHostsLinesFor(addr string) []string {
	var lines []string
	for _, kt := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoRSA} {
		k, ok := d.HostKeys[kt]
		if !ok {
			d.t.Fatalf("sshd has no %s host key", kt)
		}
		lines = append(lines, knownhosts.Line([]string{knownhosts.Normalize(addr)}, k))
	}
	return lines
}

// HostKeyFingerprint is the SHA256 fingerprint of the host key of keyType.
func (d *SSHD) HostKeyFingerprint(keyType string) string {
	k, ok := d.HostKeys[keyType]
	if !ok {
		d.t.Fatalf("sshd has no %s host key", keyType)
	}
	return ssh.FingerprintSHA256(k)
}

// WriteKnownHosts writes lines to a new known_hosts file and returns its
// path.
func (d *SSHD) WriteKnownHosts(lines ...string) string {
	d.t.Helper()
	p := filepath.Join(d.t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		d.t.Fatalf("known_hosts: %v", err)
	}
	return p
}

// Config is a host.SSHConfig that connects to d as d.User with the client
// key, verifying all of d's host keys through a known_hosts file.
func (d *SSHD) Config() host.SSHConfig {
	return host.SSHConfig{
		Addr:           d.Addr,
		User:           d.User,
		PrivateKeyPEM:  d.ClientKeyPEM,
		KnownHostsFile: d.WriteKnownHosts(d.KnownHostsLines()...),
	}
}

// Connect connects to d with cfg and closes the host in t.Cleanup.
func (d *SSHD) Connect(cfg host.SSHConfig) *host.SSH {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := host.NewSSH(ctx, cfg)
	if err != nil {
		d.t.Fatalf("connect to test sshd: %v\nsshd log:\n%s", err, d.logs())
	}
	d.t.Cleanup(func() { h.Close() })
	return h
}

// Logs returns what sshd has logged so far.
func (d *SSHD) Logs() string { return d.logs() }

// NewSSHHost starts an sshd for t and returns a host connected to it over
// SSH, closed in t.Cleanup.
func NewSSHHost(t testing.TB) host.Host {
	t.Helper()
	d := StartSSHD(t, SSHDOptions{})
	return d.Connect(d.Config())
}
