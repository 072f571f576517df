package health

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// RedisProbe connects to Redis and expects PONG to a PING. A rejected
// password is permanent (ErrPermanent).
type RedisProbe struct {
	// Label names the probe in reports; default "redis ADDR/DB".
	Label string
	// Addr is "host:port" as seen from the Dialer's host.
	Addr string
	// Username and Password authenticate (ACL user, or requirepass with an
	// empty Username).
	Username, Password string
	// DB is selected after connecting.
	DB int
	// TLS, when set, wraps the connection in TLS.
	TLS *tls.Config
	// Dialer opens the connection; nil dials from this machine.
	Dialer host.Dialer
}

// Name returns Label or "redis ADDR/DB".
func (p *RedisProbe) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return "redis " + p.Addr + "/" + strconv.Itoa(p.DB)
}

// Check connects and sends PING.
func (p *RedisProbe) Check(ctx context.Context) error { return p.Observe(ctx).Err }

// Observe connects, sends PING and reports the time for both.
func (p *RedisProbe) Observe(ctx context.Context) Observation {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c := startCheck(p.Name())
	if p.Addr == "" {
		return c.abort("no address to dial", nil)
	}
	// Dial here rather than in go-redis's pool: its pool logs failed dials
	// to stderr, and a library stays silent.
	conn, err := dialerOr(p.Dialer).DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return c.fail(reason("dial", err), err)
	}
	if p.TLS != nil {
		tc := tls.Client(conn, p.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return c.fail(reason("TLS handshake", err), err)
		}
		conn = tc
	}
	defer conn.Close() // in case go-redis never took it
	var used atomic.Bool
	client := redis.NewClient(&redis.Options{
		Addr: p.Addr,
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			if used.Swap(true) {
				return nil, errors.New("redis probe: one connection per check")
			}
			return conn, nil
		},
		Username:              p.Username,
		Password:              p.Password,
		DB:                    p.DB,
		Protocol:              2,
		DisableIdentity:       true,
		MaxRetries:            -1,
		DialerRetries:         1,
		PoolSize:              1,
		ContextTimeoutEnabled: true,
		ReadTimeout:           DefaultTimeout,
		WriteTimeout:          DefaultTimeout,
	})
	defer client.Close()
	pong, err := client.Ping(ctx).Result()
	err = redactErr(err, p.Password)
	switch {
	case err != nil && redis.IsAuthError(err):
		return c.abort("the server rejected the credentials (check the username and password)", err)
	case err != nil:
		return c.fail(reason("PING", err), err)
	case pong != "PONG":
		return c.fail("PING answered "+snippet([]byte(pong))+", want PONG", nil)
	}
	return c.pass("PONG")
}
