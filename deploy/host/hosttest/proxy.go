package hosttest

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// TCPProxy forwards connections from a loopback port to a target until Cut:
// a network link a test can break, and optionally a slow one (Delay).
type TCPProxy struct {
	// Addr is the proxy's own address, "127.0.0.1:port".
	Addr  string
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

// StartTCPProxy starts a proxy to target, cut in t.Cleanup.
func StartTCPProxy(t TB, target string) *TCPProxy {
	t.Helper()
	return StartSlowTCPProxy(t, target, 0)
}

// StartSlowTCPProxy is StartTCPProxy over a link with latency: every byte
// is delivered delay after it was sent, in each direction (so a round trip
// costs 2×delay), without limiting throughput. A connection's end is
// delayed too, after its last bytes.
func StartSlowTCPProxy(t TB, target string, delay time.Duration) *TCPProxy {
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
			go func() { delayedCopy(out, in, delay); out.Close() }()
			go func() { delayedCopy(in, out, delay); in.Close() }()
		}
	}()
	t.Cleanup(p.Cut)
	return p
}

// delayedCopy copies src to dst until src ends, each chunk written delay
// after it was read.
func delayedCopy(dst, src net.Conn, delay time.Duration) {
	if delay <= 0 {
		_, _ = io.Copy(dst, src)
		return
	}
	type chunk struct {
		b  []byte
		at time.Time
	}
	ch := make(chan chunk, 4096)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range ch {
		if failed {
			continue // drain, so the reader ends
		}
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			failed = true
			src.Close()
		}
	}
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
