package host

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Errors an SSH host returns; branch on them with errors.Is.
var (
	// ErrUnknownHostKey: the server's host key is in neither known_hosts
	// nor the pinned keys. The error text says how to add it.
	ErrUnknownHostKey = errors.New("ssh host key unknown")
	// ErrHostKeyMismatch: the server offered a key other than the one
	// known_hosts or the pin expects. Either the server was reinstalled or
	// someone is intercepting the connection; the error text says how to
	// update the entry once that is checked.
	ErrHostKeyMismatch = errors.New("ssh host key mismatch")
	// ErrAuthFailed: the server refused every key offered for the user.
	ErrAuthFailed = errors.New("ssh authentication failed")
	// ErrForwardingDisabled: sshd refused to open a tcp or unix connection
	// (AllowTcpForwarding, AllowStreamLocalForwarding or DisableForwarding
	// in sshd_config). The error text names the option.
	ErrForwardingDisabled = errors.New("ssh forwarding disabled by server")
)

// SSHConfig says how to reach and authenticate to a server over SSH.
// Host keys are always verified: against KnownHostsFile, or against
// PinnedHostKey when that is set. There is no way to skip verification.
type SSHConfig struct {
	// Addr is "host" or "host:port"; the port defaults to 22.
	Addr string
	// User is the login user on the server. Required.
	User string

	// PrivateKeyPEM is a private key in PEM/OpenSSH format, e.g. from the
	// PRODUCTION_SSH_KEY environment variable. Default: none.
	PrivateKeyPEM []byte
	// PrivateKeyFile is a path to a private key file; a leading ~/ is the
	// home directory. Default: none.
	PrivateKeyFile string
	// Passphrase decrypts an encrypted PrivateKeyPEM or PrivateKeyFile.
	Passphrase string
	// UseAgent offers the keys of the ssh-agent at AgentSocket.
	// Default: false.
	UseAgent bool
	// AgentSocket is the ssh-agent socket. Default: $SSH_AUTH_SOCK.
	AgentSocket string

	// KnownHostsFile lists the accepted host keys in OpenSSH known_hosts
	// format; a leading ~/ is the home directory. A missing file holds no
	// keys. Default: ~/.ssh/known_hosts. Ignored when PinnedHostKey is set.
	KnownHostsFile string
	// PinnedHostKey accepts exactly the given host keys, one per line,
	// each either a public key in authorized_keys format ("ssh-ed25519
	// AAAA...") or a fingerprint ("SHA256:..."). Default: none.
	PinnedHostKey string

	// ConnectTimeout bounds the TCP connect. Default: 10s.
	ConnectTimeout time.Duration
	// HandshakeTimeout bounds the SSH handshake and authentication.
	// Default: 15s.
	HandshakeTimeout time.Duration
	// KeepaliveInterval is how often a keepalive@openssh.com request is
	// sent; negative disables keepalives. Default: 15s.
	KeepaliveInterval time.Duration
	// KeepaliveTimeout is how long a keepalive may wait for its reply
	// before the connection is declared lost and closed. Default: 15s.
	KeepaliveTimeout time.Duration

	// MaxSessions bounds how many commands run at once over the
	// connection; more wait for a free slot. OpenSSH refuses sessions
	// beyond its MaxSessions (default 10) per connection; the two left
	// over serve kills of cancelled commands. The shared shell holds one
	// slot while it is open. Dials are not counted. Default: 8.
	MaxSessions int

	// Sessions says how commands are run: "shared" (SessionsShared) runs
	// them through one long-lived remote shell, a round trip each and no
	// login-shell start-up; "per-command" (SessionsPerCommand) opens a
	// session for each, for servers where the shared shell misbehaves.
	// Commands that cannot be framed (a stdin that is not in memory) and
	// commands issued while the shared shell is busy get a session of
	// their own either way. Default: $BLUESHIFT_SSH_SESSION, else
	// "shared".
	Sessions string

	// Logger receives debug records about the connection; nil discards.
	Logger *slog.Logger
}

const (
	defaultConnectTimeout    = 10 * time.Second
	defaultHandshakeTimeout  = 15 * time.Second
	defaultKeepaliveInterval = 15 * time.Second
	defaultKeepaliveTimeout  = 15 * time.Second
	defaultMaxSessions       = 8
)

// SSH is a server reached over one SSH connection. Commands run through
// one shared remote shell or in sessions of their own (see the package
// documentation); dials become direct-tcpip or direct-streamlocal
// channels. It is safe for concurrent use.
type SSH struct {
	name      string
	user      string
	client    *ssh.Client
	log       *slog.Logger
	agentConn net.Conn

	closed    atomic.Bool
	done      chan struct{} // closed when the connection has ended
	mu        sync.Mutex
	lostErr   error // why the connection ended, if not by Close
	stopAlive chan struct{}
	sessions  chan struct{} // one token per open session (the shared shell's too)

	perCommand bool         // SessionsPerCommand
	noShell    atomic.Bool  // the shared shell does not work on this host
	shellMu    sync.Mutex   // held by the command using shell
	shell      *sharedShell // nil until the first shared command
	opened     atomic.Int64 // sessions opened
}

var _ Host = (*SSH)(nil)

// NewSSH connects to cfg.Addr, verifies its host key, authenticates as
// cfg.User and returns the connected host. ctx bounds the connection
// attempt only.
func NewSSH(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	addr, err := normalizeAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("ssh %s: no user: set the login user (e.g. PRODUCTION_USER)", addr)
	}
	name := cfg.User + "@" + addr
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = defaultHandshakeTimeout
	}
	if cfg.KeepaliveInterval == 0 {
		cfg.KeepaliveInterval = defaultKeepaliveInterval
	}
	if cfg.KeepaliveTimeout <= 0 {
		cfg.KeepaliveTimeout = defaultKeepaliveTimeout
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = defaultMaxSessions
	}
	mode, err := sessionsMode(cfg.Sessions)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", name, err)
	}

	verifier, err := newHostKeyVerifier(cfg, addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", name, err)
	}
	auth, err := newAuth(cfg)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", name, err)
	}

	client, err := connect(ctx, cfg, addr, verifier, auth)
	if err != nil {
		if auth.agentConn != nil {
			auth.agentConn.Close()
		}
		return nil, fmt.Errorf("ssh %s: %w", name, err)
	}
	s := &SSH{
		name:      name,
		user:      cfg.User,
		client:    client,
		log:       log,
		agentConn: auth.agentConn,
		done:      make(chan struct{}),
		stopAlive: make(chan struct{}),
		sessions:  make(chan struct{}, cfg.MaxSessions),

		perCommand: mode == SessionsPerCommand,
	}
	go s.watch()
	if cfg.KeepaliveInterval > 0 {
		go s.keepalive(cfg.KeepaliveInterval, cfg.KeepaliveTimeout)
	}
	log.Debug("ssh connected", "host", name, "server", string(client.ServerVersion()))
	return s, nil
}

// connect dials addr and runs the SSH handshake, retrying with other host
// key algorithms while the verifier asks for it (a fingerprint pin whose
// key type the server did not offer first).
func connect(ctx context.Context, cfg SSHConfig, addr string, v *hostKeyVerifier, auth *sshAuth) (*ssh.Client, error) {
	for {
		algos := v.algorithms()
		if len(algos) == 0 && v.lastErr != nil {
			return nil, v.lastErr
		}
		client, err := handshake(ctx, cfg, addr, algos, v, auth)
		if err == nil {
			return client, nil
		}
		if v.retry {
			v.retry = false
			continue
		}
		var noAlgo *ssh.AlgorithmNegotiationError
		if errors.As(err, &noAlgo) && v.lastErr != nil {
			// The server has no key of the types left to try: the key
			// it did show was the wrong one.
			return nil, v.lastErr
		}
		return nil, err
	}
}

func handshake(ctx context.Context, cfg SSHConfig, addr string, algos []string, v *hostKeyVerifier, auth *sshAuth) (*ssh.Client, error) {
	d := net.Dialer{Timeout: cfg.ConnectTimeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect: %w", ctx.Err())
		}
		return nil, fmt.Errorf("connect (is sshd running and the port reachable?): %w", err)
	}
	_ = raw.SetDeadline(time.Now().Add(cfg.HandshakeTimeout))
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })

	v.reset()
	auth.offered = false
	conf := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeysCallback(auth.signers)},
		HostKeyCallback:   v.check,
		HostKeyAlgorithms: algos,
	}
	c, chans, reqs, err := ssh.NewClientConn(raw, addr, conf)
	stopped := stop()
	if err != nil {
		raw.Close()
		var ne net.Error
		switch {
		case v.err != nil:
			return nil, v.err
		case !stopped || ctx.Err() != nil:
			return nil, fmt.Errorf("handshake: %w", ctx.Err())
		case errors.As(err, &ne) && ne.Timeout():
			return nil, fmt.Errorf("handshake did not finish within %s (is it an SSH server? raise HandshakeTimeout on a slow link): %w", cfg.HandshakeTimeout, err)
		case v.verified && auth.offered && !errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%w: the server refused keys %s for user %s: add the public key to ~%s/.ssh/authorized_keys on the server, or check the user: %v",
				ErrAuthFailed, auth.fingerprints(), cfg.User, cfg.User, err)
		default:
			return nil, fmt.Errorf("handshake: %w", err)
		}
	}
	_ = raw.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

func normalizeAddr(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("ssh: no address: set the server (e.g. PRODUCTION_HOST)")
	}
	if h, p, err := net.SplitHostPort(addr); err == nil {
		if h == "" || p == "" {
			return "", fmt.Errorf("ssh: address %q: want host or host:port", addr)
		}
		return addr, nil
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), "22"), nil
}

// watch records why the connection ended.
func (s *SSH) watch() {
	err := s.client.Wait()
	if err == nil {
		err = io.EOF
	}
	s.lose(fmt.Errorf("%w: %v", ErrConnectionLost, err))
	close(s.done)
}

func (s *SSH) lose(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostErr == nil && !s.closed.Load() {
		s.lostErr = err
		s.log.Debug("ssh connection lost", "host", s.name, "err", err)
	}
}

// lost returns why the connection ended, or nil while it is up.
func (s *SSH) lost() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lostErr
}

// keepalive sends keepalive@openssh.com every interval; a request not
// answered within timeout marks the connection lost and closes it, so
// every Run and Dial in flight fails instead of hanging.
func (s *SSH) keepalive(interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopAlive:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				s.lose(fmt.Errorf("%w: keepalive: %v", ErrConnectionLost, err))
				s.client.Close()
				return
			}
		case <-time.After(timeout):
			s.lose(fmt.Errorf("%w: no reply to keepalive within %s", ErrConnectionLost, timeout))
			s.client.Close()
			return
		case <-s.stopAlive:
			return
		}
	}
}

// Name returns "user@host:port".
func (s *SSH) Name() string { return s.name }

// Close closes the connection; commands still running fail.
func (s *SSH) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stopAlive)
	err := s.client.Close()
	if s.agentConn != nil {
		s.agentConn.Close()
	}
	if errors.Is(err, net.ErrClosed) || s.lost() != nil {
		return nil
	}
	return err
}

// usable reports ErrClosed or the lost-connection error, if any.
func (s *SSH) usable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.lost()
}

// connErr turns err from the SSH layer into the lost-connection error when
// the connection is gone (checking briefly: the reader may not have noticed
// yet).
func (s *SSH) connErr(err error) error {
	if lost := s.lost(); lost != nil {
		return lost
	}
	select {
	case <-s.done:
		if lost := s.lost(); lost != nil {
			return lost
		}
	case <-time.After(200 * time.Millisecond):
	}
	return err
}

// Run runs cmd: argv quoted once with ShellQuote, Dir by cd, Env by env(1)
// (sshd's AcceptEnv would refuse Setenv). A command whose stdin is nil or
// in memory runs through the shared shell when it is free (see the
// package documentation); any other command, or every command with
// Sessions "per-command", runs in a new session. Cancelling ctx kills the
// remote program (and the shared shell it ran in).
func (s *SSH) Run(ctx context.Context, cmd Cmd) error {
	if err := s.usable(); err != nil {
		return s.runErr(cmd, err)
	}
	if !s.perCommand && !s.noShell.Load() && framable(cmd) && s.shellMu.TryLock() {
		err := s.runShared(ctx, cmd)
		s.shellMu.Unlock()
		if !errors.Is(err, errNoShell) {
			return err
		}
	}
	return s.runSession(ctx, cmd)
}

// runSession runs cmd in a session of its own.
func (s *SSH) runSession(ctx context.Context, cmd Cmd) error {
	line, err := remoteCommand(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	if err := s.takeSlot(ctx); err != nil {
		return s.runErr(cmd, err)
	}
	defer func() { <-s.sessions }()
	if err := ctx.Err(); err != nil {
		return s.runErr(cmd, err)
	}
	sess, err := s.newSession(ctx)
	if err != nil {
		return s.runErr(cmd, err)
	}
	defer sess.Close()
	tail := newStderrTail()
	sess.Stdin = cmd.Stdin
	sess.Stdout = cmd.Stdout
	pid := &pidWriter{next: tail}
	if cmd.Stderr != nil {
		pid.next = io.MultiWriter(cmd.Stderr, tail)
	}
	sess.Stderr = pid
	if err := sess.Start(line); err != nil {
		return s.runErr(cmd, s.connErr(fmt.Errorf("start: %w", err)))
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		// OpenSSH honours the signal only for sessions under privilege
		// separation (not for root logins), so also kill the program's
		// process group from a second session. sshd keeps the channel
		// until the program exits: do not wait for it.
		_ = sess.Signal(ssh.SIGKILL)
		if p := pid.PID(); p > 0 {
			s.kill(p)
		}
		sess.Close()
		return s.runErr(cmd, ctx.Err())
	case <-s.done:
		return s.runErr(cmd, s.lost())
	}
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case err == io.EOF && cmd.Stdin != nil:
		// The program exited 0 without reading all its stdin (`true`,
		// `head -c 3`): x/crypto's Wait then reports the failed copy of
		// the rest as io.EOF (an exit status would have come first). As
		// locally, that is a success.
		return nil
	case errors.As(err, &exitErr):
		return &ExitError{Host: s.name, Argv: cmd.Argv, Code: exitErr.ExitStatus(), StderrTail: tail.String()}
	case errors.As(err, &missing):
		// The channel closed without an exit status: the connection went.
		return s.runErr(cmd, s.connErr(fmt.Errorf("%w: %w", ErrConnectionLost, err)))
	default:
		return s.runErr(cmd, s.connErr(err))
	}
}

// takeSlot waits for a free session slot (MaxSessions); an idle shared
// shell gives its slot up when all are taken.
func (s *SSH) takeSlot(ctx context.Context) error {
	select {
	case s.sessions <- struct{}{}:
		return nil
	default:
		s.closeIdleShell()
	}
	select {
	case s.sessions <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return s.lost()
	}
}

// newSession opens a session, retrying for a while when sshd refuses it:
// sshd frees a finished session's slot (MaxSessions) a little after its
// channel closed.
func (s *SSH) newSession(ctx context.Context) (*ssh.Session, error) {
	const patience = 5 * time.Second
	deadline := time.Now().Add(patience)
	wait := 5 * time.Millisecond
	for {
		sess, err := s.client.NewSession()
		var oce *ssh.OpenChannelError
		switch {
		case err == nil:
			s.opened.Add(1)
			return sess, nil
		case !errors.As(err, &oce):
			return nil, s.connErr(fmt.Errorf("open session: %w", err))
		case time.Now().After(deadline):
			return nil, fmt.Errorf("open session: sshd refused new sessions for %s (is MaxSessions in its sshd_config below SSHConfig.MaxSessions+2?): %w", patience, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// SessionsOpened is how many SSH sessions the host has opened so far:
// one per command run in a session of its own, one per shared shell
// started, one per kill of a cancelled command. Each costs a round trip
// and a start of the login shell on the server.
func (s *SSH) SessionsOpened() int64 { return s.opened.Load() }

// kill kills the remote process group of a cancelled command.
func (s *SSH) kill(pid int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sess, err := s.newSession(ctx)
	if err != nil {
		s.log.Debug("ssh: kill cancelled command", "host", s.name, "pid", pid, "err", err)
		return
	}
	defer sess.Close()
	done := make(chan error, 1)
	go func() { done <- sess.Run(ShellQuote(killArgv(pid))) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.log.Debug("ssh: killed cancelled command", "host", s.name, "pid", pid, "err", err)
}

func (s *SSH) runErr(cmd Cmd, err error) error {
	return fmt.Errorf("%s: run %s: %w", s.name, strings.Join(cmd.Argv, " "), err)
}

// DialContext opens a connection to addr as seen from the server: "tcp"
// through a direct-tcpip channel, "unix" through direct-streamlocal
// (OpenSSH's AllowStreamLocalForwarding). The conn supports deadlines and
// CloseWrite.
func (s *SSH) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := s.usable(); err != nil {
		return nil, fmt.Errorf("%s: dial %s %s: %w", s.name, network, addr, err)
	}
	var hint string
	switch network {
	case "tcp", "tcp4", "tcp6":
		hint = "set `AllowTcpForwarding yes` (and no `DisableForwarding yes`, `PermitOpen` allowing it)"
	case "unix":
		// OpenSSH checks AllowTcpForwarding's permissions for unix
		// sockets too.
		hint = "set `AllowStreamLocalForwarding yes` and `AllowTcpForwarding yes` (and no `DisableForwarding yes`)"
	default:
		return nil, fmt.Errorf("%s: dial %s %s: network must be tcp or unix", s.name, network, addr)
	}
	hint += " in the server's /etc/ssh/sshd_config (or a Match block for user " + s.user + "), then reload sshd"
	c, err := s.client.DialContext(ctx, network, addr)
	if err != nil {
		var oce *ssh.OpenChannelError
		switch {
		case errors.As(err, &oce) && oce.Reason == ssh.Prohibited:
			return nil, fmt.Errorf("%s: dial %s %s: %w (%s): %s", s.name, network, addr, ErrForwardingDisabled, oce.Message, hint)
		case oce != nil && network == "unix":
			// sshd answers "open failed" both for a missing socket and for
			// forwarding it refuses: look at the socket to tell which.
			if ok, _ := Exists(ctx, s, addr); !ok {
				return nil, fmt.Errorf("%s: dial unix %s: no such socket on the host (is the service running?): %w", s.name, addr, fs.ErrNotExist)
			}
			return nil, fmt.Errorf("%s: dial unix %s: sshd refused to connect to the socket, which exists: %w (or nothing listens on it): %s",
				s.name, addr, ErrForwardingDisabled, hint)
		case ctx.Err() == nil && oce == nil:
			err = s.connErr(err)
		}
		return nil, fmt.Errorf("%s: dial %s %s: %w", s.name, network, addr, err)
	}
	return newDeadlineConn(c, sshAddr{network, "ssh:" + s.name}, sshAddr{network, addr}), nil
}

// sshAddr is the address of a forwarded connection.
type sshAddr struct{ network, addr string }

func (a sshAddr) Network() string { return a.network }
func (a sshAddr) String() string  { return a.addr }

// sshAuth holds the keys offered to the server.
type sshAuth struct {
	keys      []ssh.Signer
	agent     agent.ExtendedAgent
	agentConn net.Conn
	offered   bool // the server asked for keys in the last handshake
	offeredFP []string
}

func newAuth(cfg SSHConfig) (*sshAuth, error) {
	a := &sshAuth{}
	if len(cfg.PrivateKeyPEM) > 0 {
		k, err := parseKey(cfg.PrivateKeyPEM, cfg.Passphrase)
		if err != nil {
			return nil, fmt.Errorf("private key (PrivateKeyPEM): %w", err)
		}
		a.keys = append(a.keys, k)
	}
	if cfg.PrivateKeyFile != "" {
		file, err := expandHome(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("private key file: %w", err)
		}
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("private key file: %w", err)
		}
		k, err := parseKey(pem, cfg.Passphrase)
		if err != nil {
			return nil, fmt.Errorf("private key file %s: %w", cfg.PrivateKeyFile, err)
		}
		a.keys = append(a.keys, k)
	}
	if cfg.UseAgent {
		sock := cfg.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		if sock == "" {
			return nil, errors.New("ssh-agent: SSH_AUTH_SOCK is not set: start an agent (eval $(ssh-agent); ssh-add) or give a private key")
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
		}
		a.agentConn = conn
		a.agent = agent.NewClient(conn)
	}
	if len(a.keys) == 0 && a.agent == nil {
		return nil, errors.New("no credentials: set PrivateKeyPEM (e.g. from PRODUCTION_SSH_KEY), PrivateKeyFile or UseAgent")
	}
	return a, nil
}

func parseKey(pem []byte, passphrase string) (ssh.Signer, error) {
	k, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, errors.New("the key is encrypted: give its passphrase (SSHConfig.Passphrase)")
		}
		k, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, errors.New("wrong passphrase for the encrypted key")
		}
	}
	if err != nil {
		// The parser's messages never quote key material.
		return nil, fmt.Errorf("not a usable private key (want PEM or OpenSSH format, the whole file including BEGIN/END lines): %w", err)
	}
	return k, nil
}

func (a *sshAuth) signers() ([]ssh.Signer, error) {
	a.offered = true
	signers := append([]ssh.Signer(nil), a.keys...)
	if a.agent != nil {
		more, err := a.agent.Signers()
		if err != nil {
			return nil, fmt.Errorf("ssh-agent: %w", err)
		}
		signers = append(signers, more...)
	}
	a.offeredFP = a.offeredFP[:0]
	for _, s := range signers {
		a.offeredFP = append(a.offeredFP, ssh.FingerprintSHA256(s.PublicKey()))
	}
	return signers, nil
}

func (a *sshAuth) fingerprints() string {
	if len(a.offeredFP) == 0 {
		return "(none: the agent holds no keys)"
	}
	return strings.Join(a.offeredFP, ", ")
}
