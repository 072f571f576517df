package hosttest

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// TCPProxy forwards connections from a loopback port to a target until Cut:
// a network link a test can break.
type TCPProxy struct {
	// Addr is the proxy's own address, "127.0.0.1:port".
	Addr  string
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

// StartTCPProxy starts a proxy to target, cut in t.Cleanup.
func StartTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcp proxy: %v", err)
	}
	p := &TCPProxy{Addr: l.Addr().String(), l: l}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			if p.cut {
				in.Close()
				out.Close()
			}
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.Cut)
	return p
}

// Cut drops every connection and refuses new ones, as a network failure
// would.
func (p *TCPProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.l.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// ConfigVia is Config for reaching d through addr (a TCPProxy's Addr): the
// known_hosts file names addr, so d's host keys verify there.
func (d *SSHD) ConfigVia(addr string) host.SSHConfig {
	cfg := d.Config()
	cfg.Addr = addr
	cfg.KnownHostsFile = d.WriteKnownHosts(d.knownHostsLinesFor(addr)...)
	return cfg
}
