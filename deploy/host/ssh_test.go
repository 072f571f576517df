package host_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

func connectErr(t *testing.T, cfg host.SSHConfig) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := host.NewSSH(ctx, cfg)
	if err == nil {
		h.Close()
		return nil
	}
	return err
}

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\ndoes not contain %q", err, p)
		}
	}
}

func TestSSHUnknownHostKey(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	cfg := d.Config()
	cfg.KnownHostsFile = d.WriteKnownHosts("# nothing yet")
	err := connectErr(t, cfg)
	if !errors.Is(err, host.ErrUnknownHostKey) {
		t.Fatalf("err = %v, want ErrUnknownHostKey", err)
	}
	_, port, _ := net.SplitHostPort(d.Addr)
	mustContain(t, err, "ssh-keyscan -p "+port+" 127.0.0.1 >> "+cfg.KnownHostsFile, "host.host_key", "SHA256:")

	// A known_hosts file that does not exist yet holds no keys.
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	err = connectErr(t, cfg)
	if !errors.Is(err, host.ErrUnknownHostKey) {
		t.Fatalf("missing file: err = %v, want ErrUnknownHostKey", err)
	}
	mustContain(t, err, "does not exist", ">> "+cfg.KnownHostsFile)
}

func TestSSHHostKeyMismatch(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewPublicKey(pub)
	cfg := d.Config()
	cfg.KnownHostsFile = d.WriteKnownHosts(knownhosts.Line([]string{knownhosts.Normalize(d.Addr)}, other))
	err := connectErr(t, cfg)
	if !errors.Is(err, host.ErrHostKeyMismatch) {
		t.Fatalf("err = %v, want ErrHostKeyMismatch", err)
	}
	mustContain(t, err, d.HostKeyFingerprint(ssh.KeyAlgoED25519), ssh.FingerprintSHA256(other),
		"intercepting", "ssh-keygen -R '"+knownhosts.Normalize(d.Addr)+"'")
}

// With ECDSA, ed25519 and RSA keys on the server, a known_hosts holding
// only one of them must still work (x/crypto alone negotiates ECDSA first).
func TestSSHKnownHostsSingleKeyType(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	for _, kt := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSA} {
		cfg := d.Config()
		cfg.KnownHostsFile = d.WriteKnownHosts(d.KnownHostsLine(kt))
		h := d.Connect(cfg)
		if out, err := host.Output(context.Background(), h, "echo", "ok"); err != nil || string(out) != "ok\n" {
			t.Errorf("%s: %q, %v", kt, out, err)
		}
	}
}

func TestSSHPinnedHostKey(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	rsaFP := d.HostKeyFingerprint(ssh.KeyAlgoRSA)
	pins := map[string]string{
		"authorized_keys ed25519": string(ssh.MarshalAuthorizedKey(d.HostKeys[ssh.KeyAlgoED25519])),
		// A fingerprint of the server's least preferred key: the client
		// must try again with other algorithms until it sees that key.
		"fingerprint rsa":     rsaFP,
		"two pins, one stale": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" + d.HostKeyFingerprint(ssh.KeyAlgoECDSA256),
	}
	for name, pin := range pins {
		cfg := d.Config()
		cfg.KnownHostsFile = filepath.Join(t.TempDir(), "absent") // must not be read
		cfg.PinnedHostKey = pin
		if err := connectErr(t, cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	cfg := d.Config()
	cfg.PinnedHostKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	err := connectErr(t, cfg)
	if !errors.Is(err, host.ErrHostKeyMismatch) {
		t.Fatalf("wrong pin: err = %v, want ErrHostKeyMismatch", err)
	}
	mustContain(t, err, "host_key pins SHA256:AAAA")

	cfg.PinnedHostKey = "not a key"
	if err := connectErr(t, cfg); err == nil || !strings.Contains(err.Error(), "authorized_keys line") {
		t.Errorf("bad pin: err = %v", err)
	}
}

func TestSSHWrongUserKey(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	stranger, pub := hosttest.NewClientKey(t, "")
	cfg := d.Config()
	cfg.PrivateKeyPEM = stranger
	err := connectErr(t, cfg)
	if !errors.Is(err, host.ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed", err)
	}
	mustContain(t, err, ssh.FingerprintSHA256(pub), "user "+d.User, "authorized_keys")
	if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Error("error quotes key material")
	}
}

func TestSSHEncryptedKey(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	pemBytes, pub := hosttest.NewClientKey(t, "correct horse")
	d.Authorize(pub)
	cfg := d.Config()
	cfg.PrivateKeyPEM = pemBytes

	cfg.Passphrase = "correct horse"
	if err := connectErr(t, cfg); err != nil {
		t.Fatalf("with passphrase: %v", err)
	}
	cfg.Passphrase = ""
	if err := connectErr(t, cfg); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("without passphrase: err = %v, want it to ask for the passphrase", err)
	}
	cfg.Passphrase = "wrong"
	if err := connectErr(t, cfg); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: err = %v", err)
	}

	// The same key from a file.
	cfg.PrivateKeyPEM = nil
	cfg.PrivateKeyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(cfg.PrivateKeyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Passphrase = "correct horse"
	if err := connectErr(t, cfg); err != nil {
		t.Errorf("key file: %v", err)
	}
}

func TestSSHAgent(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	key, err := ssh.ParseRawPrivateKey(d.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := serve(t, "unix", filepath.Join(socketDir(t), "agent.sock"), func(c net.Conn) { agent.ServeAgent(keyring, c) })
	cfg := d.Config()
	cfg.PrivateKeyPEM = nil
	cfg.UseAgent = true
	cfg.AgentSocket = sock
	h := d.Connect(cfg)
	if _, err := host.Output(context.Background(), h, "true"); err != nil {
		t.Fatal(err)
	}
}

func TestSSHConfigErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		cfg  host.SSHConfig
		want string
	}{
		"no addr":          {host.SSHConfig{User: "u", PrivateKeyPEM: []byte("x")}, "PRODUCTION_HOST"},
		"no user":          {host.SSHConfig{Addr: "example.invalid", PrivateKeyPEM: []byte("x")}, "PRODUCTION_USER"},
		"no credentials":   {host.SSHConfig{Addr: "example.invalid", User: "u", PinnedHostKey: "SHA256:x"}, "PRODUCTION_SSH_KEY"},
		"garbage key":      {host.SSHConfig{Addr: "example.invalid", User: "u", PinnedHostKey: "SHA256:x", PrivateKeyPEM: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n")}, "not a usable private key"},
		"missing key file": {host.SSHConfig{Addr: "example.invalid", User: "u", PinnedHostKey: "SHA256:x", PrivateKeyFile: "/nonexistent/id_ed25519"}, "/nonexistent/id_ed25519"},
	}
	for name, tc := range cases {
		err := connectErr(t, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("%s: error quotes key material", name)
		}
	}
}

func mustKey(t *testing.T) []byte {
	k, _ := hosttest.NewClientKey(t, "")
	return k
}

func TestSSHHandshakeTimeout(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent: never sends a banner
		}
	}()
	start := time.Now()
	err = connectErr(t, host.SSHConfig{Addr: l.Addr().String(), User: "u", PrivateKeyPEM: mustKey(t),
		PinnedHostKey: "SHA256:x", HandshakeTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "handshake did not finish within 300ms") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("returned after %s", d)
	}
}

func TestSSHForwardingDisabled(t *testing.T) {
	t.Parallel()
	// OpenSSH applies AllowTcpForwarding to unix sockets as well.
	cases := []struct {
		name      string
		opts      hosttest.SSHDOptions
		tcp, unix bool // still allowed
	}{
		{"AllowTcpForwarding no", hosttest.SSHDOptions{DisableTCPForwarding: true}, false, false},
		{"AllowStreamLocalForwarding no", hosttest.SSHDOptions{DisableStreamLocalForwarding: true}, true, false},
		{"DisableForwarding yes", hosttest.SSHDOptions{DisableForwarding: true}, false, false},
	}
	tcpAddr := echoServer(t, "tcp", "127.0.0.1:0")
	unixAddr := echoServer(t, "unix", filepath.Join(socketDir(t), "echo.sock"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := hosttest.StartSSHD(t, tc.opts)
			h := d.Connect(d.Config())
			ctx := testCtx(t)
			for _, dial := range []struct {
				network, addr, option string
				allowed               bool
			}{{"tcp", tcpAddr, "AllowTcpForwarding", tc.tcp}, {"unix", unixAddr, "AllowStreamLocalForwarding", tc.unix}} {
				c, err := h.DialContext(ctx, dial.network, dial.addr)
				if dial.allowed {
					if err != nil {
						t.Errorf("%s dial: %v", dial.network, err)
					} else {
						c.Close()
					}
					continue
				}
				if !errors.Is(err, host.ErrForwardingDisabled) {
					t.Errorf("%s dial: err = %v, want ErrForwardingDisabled", dial.network, err)
					continue
				}
				mustContain(t, err, dial.option+" yes", "DisableForwarding", "sshd_config")
			}
			// Commands still run.
			if _, err := host.Output(ctx, h, "true"); err != nil {
				t.Error(err)
			}
		})
	}
}

// proxy forwards tcp connections to an address and can cut or stall them,
// standing in for a network that fails under a live SSH connection.
type proxy struct {
	l       net.Listener
	target  string
	mu      sync.Mutex
	conns   []net.Conn
	stalled chan struct{} // closed: stop forwarding
	done    chan struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target, stalled: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { close(p.done); p.Cut(); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
	return p
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.stalled:
			<-p.done // swallow everything, say nothing
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *proxy) Addr() string { return p.l.Addr().String() }

// Cut closes every forwarded connection.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// Stall stops forwarding without closing anything.
func (p *proxy) Stall() { close(p.stalled) }

func TestSSHConnectionLost(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	for _, mode := range []string{"cut", "stall"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			p := newProxy(t, d.Addr)
			cfg := d.Config()
			// known_hosts names the sshd's address; reach it through the
			// proxy by pinning the keys instead.
			cfg.Addr = p.Addr()
			cfg.PinnedHostKey = string(ssh.MarshalAuthorizedKey(d.HostKeys[ssh.KeyAlgoED25519]))
			cfg.KeepaliveInterval = 100 * time.Millisecond
			cfg.KeepaliveTimeout = 300 * time.Millisecond
			h := d.Connect(cfg)
			ctx := testCtx(t)
			if _, err := host.Output(ctx, h, "true"); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- h.Run(ctx, host.Cmd{Argv: []string{"sleep", "30"}}) }()
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			if mode == "cut" {
				p.Cut()
			} else {
				p.Stall()
			}
			select {
			case err := <-errc:
				if !errors.Is(err, host.ErrConnectionLost) {
					t.Errorf("running command: err = %v, want ErrConnectionLost", err)
				}
				t.Logf("%s noticed after %s: %v", mode, time.Since(start).Round(time.Millisecond), err)
			case <-time.After(10 * time.Second):
				t.Fatal("running command did not notice the lost connection within 10s")
			}
			if _, err := host.Output(ctx, h, "true"); !errors.Is(err, host.ErrConnectionLost) {
				t.Errorf("later Run: err = %v, want ErrConnectionLost", err)
			}
			if _, err := h.DialContext(ctx, "tcp", "127.0.0.1:1"); !errors.Is(err, host.ErrConnectionLost) {
				t.Errorf("later Dial: err = %v, want ErrConnectionLost", err)
			}
		})
	}
}

func TestClosedHost(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	for _, h := range []host.Host{host.NewLocal(), d.Connect(d.Config())} {
		if err := h.Close(); err != nil {
			t.Errorf("%s: Close: %v", h.Name(), err)
		}
		if err := h.Run(context.Background(), host.Cmd{Argv: []string{"true"}}); !errors.Is(err, host.ErrClosed) {
			t.Errorf("%s: Run after Close = %v, want ErrClosed", h.Name(), err)
		}
		if _, err := h.DialContext(context.Background(), "tcp", "127.0.0.1:1"); !errors.Is(err, host.ErrClosed) {
			t.Errorf("%s: Dial after Close = %v, want ErrClosed", h.Name(), err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("%s: second Close: %v", h.Name(), err)
		}
	}
}

func TestSSHName(t *testing.T) {
	t.Parallel()
	d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
	h := d.Connect(d.Config())
	if want := d.User + "@" + d.Addr; h.Name() != want {
		t.Errorf("Name = %q, want %q", h.Name(), want)
	}
	var _ io.Closer = h
}

// More concurrent commands than OpenSSH's MaxSessions (10, the test
// sshd's default too) wait for a slot instead of failing.
func TestSSHManyConcurrentCommands(t *testing.T) {
	t.Parallel()
	h := hosttest.NewSSHHost(t)
	ctx := testCtx(t)
	errs := make(chan error, 30)
	for i := 0; i < cap(errs); i++ {
		go func() { errs <- h.Run(ctx, host.Cmd{Argv: []string{"sleep", "0.2"}}) }()
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
