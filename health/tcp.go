package health

import (
	"context"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// TCPProbe passes when a connection to Addr can be opened.
type TCPProbe struct {
	// Label names the probe in reports; default "tcp ADDR".
	Label string
	// Network is "tcp" (default) or "unix".
	Network string
	// Addr is "host:port" (or a socket path for unix), as seen from the Dialer's host.
	Addr string
	// Dialer opens the connection; nil dials from this machine.
	Dialer host.Dialer
}

func (p *TCPProbe) network() string {
	if p.Network == "" {
		return "tcp"
	}
	return p.Network
}

// Name returns Label or "tcp ADDR".
func (p *TCPProbe) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return p.network() + " " + p.Addr
}

// Check opens and closes one connection.
func (p *TCPProbe) Check(ctx context.Context) error { return p.Observe(ctx).Err }

// Observe opens and closes one connection and reports how long opening took.
func (p *TCPProbe) Observe(ctx context.Context) Observation {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c := startCheck(p.Name())
	if p.Addr == "" {
		return c.abort("no address to dial", nil)
	}
	conn, err := dialerOr(p.Dialer).DialContext(ctx, p.network(), p.Addr)
	if err != nil {
		return c.fail(reason("dial", err), err)
	}
	_ = conn.Close()
	return c.pass("connected")
}
