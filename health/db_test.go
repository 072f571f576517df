package health_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/health"
)

// requirePostgres fails (CI) or skips (locally) when the test PostgreSQL
// server does not accept connections.
func requirePostgres(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(hosttest.PostgresURL())
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err == nil {
		conn.Close()
	}
	hosttest.Require(t, "PostgreSQL", err)
	return u
}

func requireRedis(t *testing.T) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", hosttest.RedisAddr(), 2*time.Second)
	if err == nil {
		conn.Close()
	}
	hosttest.Require(t, "Redis", err)
	return hosttest.RedisAddr()
}

// silentListener accepts connections and never answers: a server that hangs.
func silentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// countingDialer dials through a map of names to addresses and counts dials.
type countingDialer struct {
	names map[string]string
	dials atomic.Int32
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	if real, ok := d.names[addr]; ok {
		addr = real
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func TestPostgresProbe(t *testing.T) {
	t.Parallel()
	u := requirePostgres(t)
	ctx := context.Background()

	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		p := &health.PostgresProbe{URL: u.String()}
		obs := p.Observe(ctx)
		require.NoError(t, obs.Err)
		assert.Equal(t, "SELECT 1 = 1", obs.Detail)
		assert.Equal(t, "postgres "+u.Host+"/"+strings.TrimPrefix(u.Path, "/"), p.Name())
	})

	t.Run("through a dialer, names unresolved", func(t *testing.T) {
		t.Parallel()
		far := *u
		far.Host = "db.internal:5432" // resolvable only "on the far host"
		d := &countingDialer{names: map[string]string{"db.internal:5432": u.Host}}
		p := &health.PostgresProbe{URL: far.String(), Dialer: d}
		require.NoError(t, p.Check(ctx))
		assert.Positive(t, d.dials.Load())
	})

	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		bad := *u
		bad.User = url.UserPassword(u.User.Username(), "not-the-password-0451")
		p := &health.PostgresProbe{URL: bad.String()}
		err := p.Check(ctx)
		require.Error(t, err)
		assert.ErrorIs(t, err, health.ErrPermanent)
		assert.Contains(t, err.Error(), "the server rejected the credentials (check the role and password)")
		assert.Contains(t, err.Error(), "28P01")
		assert.NotContains(t, err.Error(), "not-the-password-0451")
		assert.NotContains(t, p.Name(), "not-the-password-0451")
	})

	t.Run("server down", func(t *testing.T) {
		t.Parallel()
		down := *u
		down.Host = closedAddr(t)
		err := (&health.PostgresProbe{URL: down.String()}).Check(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "connect: connection refused (is the service listening?)")
		assert.NotErrorIs(t, err, health.ErrPermanent)
		assert.NotContains(t, err.Error(), "blueshift@") // no userinfo
	})

	t.Run("server hangs", func(t *testing.T) {
		t.Parallel()
		slow := *u
		slow.Host = silentListener(t)
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := (&health.PostgresProbe{URL: slow.String()}).Check(ctx)
		assert.Less(t, time.Since(start), 2*time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "connect: no answer within the check's timeout")
	})

	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		slow := *u
		slow.Host = silentListener(t)
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		err := (&health.PostgresProbe{URL: slow.String()}).Check(ctx)
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.ErrorIs(t, err, context.Canceled)
	})

	t.Run("unparsable url", func(t *testing.T) {
		t.Parallel()
		p := &health.PostgresProbe{URL: "postgres://app:s3cret-7@[::1/db"}
		err := p.Check(ctx)
		assert.ErrorIs(t, err, health.ErrPermanent)
		assert.NotContains(t, err.Error(), "s3cret-7")
		assert.Equal(t, "postgres (unparsable URL)", p.Name())
	})
}

// fakeRedis answers HELLO like a server that does not know it, and every
// other command with reply.
func fakeRedis(t testing.TB, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					cmd, err := readRESPCommand(r)
					if err != nil {
						return
					}
					answer := reply
					if strings.EqualFold(cmd, "HELLO") {
						answer = "-ERR unknown command 'HELLO'\r\n"
					}
					if _, err := io.WriteString(c, answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// readRESPCommand reads one command (an array of bulk strings) and returns
// its name.
func readRESPCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "*") {
		return strings.Fields(line + " ")[0], nil // inline command: one line
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return "", err
	}
	var name string
	for i := range n {
		head, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		size, err := strconv.Atoi(strings.TrimSpace(head[1:]))
		if err != nil {
			return "", err
		}
		arg := make([]byte, size+2)
		if _, err := io.ReadFull(r, arg); err != nil {
			return "", err
		}
		if i == 0 {
			name = string(arg[:size])
		}
	}
	return name, nil
}

func TestRedisProbe(t *testing.T) {
	t.Parallel()
	addr := requireRedis(t)
	ctx := context.Background()

	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		p := &health.RedisProbe{Addr: addr}
		obs := p.Observe(ctx)
		require.NoError(t, obs.Err)
		assert.Equal(t, "PONG", obs.Detail)
		assert.Equal(t, "redis "+addr+"/0", p.Name())
	})

	t.Run("through a dialer", func(t *testing.T) {
		t.Parallel()
		d := &countingDialer{names: map[string]string{"cache.internal:6379": addr}}
		p := &health.RedisProbe{Addr: "cache.internal:6379", Dialer: d, DB: 1}
		require.NoError(t, p.Check(ctx))
		assert.Positive(t, d.dials.Load())
	})

	t.Run("error reply", func(t *testing.T) {
		t.Parallel()
		p := &health.RedisProbe{Addr: fakeRedis(t, "-ERR something went sideways\r\n")}
		err := p.Check(ctx)
		require.Error(t, err)
		assert.Equal(t, p.Name()+": PING failed: ERR something went sideways", err.Error())
	})

	t.Run("wrong answer", func(t *testing.T) {
		t.Parallel()
		p := &health.RedisProbe{Addr: fakeRedis(t, "+PANG\r\n")}
		assert.EqualError(t, p.Check(ctx), p.Name()+": PING answered PANG, want PONG")
	})

	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		p := &health.RedisProbe{Addr: addr, Username: "nobody-here", Password: "redis-secret-0451"}
		err := p.Check(ctx)
		require.Error(t, err)
		assert.ErrorIs(t, err, health.ErrPermanent, err.Error())
		assert.Contains(t, err.Error(), "the server rejected the credentials")
		assert.NotContains(t, err.Error(), "redis-secret-0451")
	})

	t.Run("down", func(t *testing.T) {
		t.Parallel()
		err := (&health.RedisProbe{Addr: closedAddr(t)}).Check(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "dial: connection refused (is the service listening?)")
	})

	t.Run("hangs", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := (&health.RedisProbe{Addr: silentListener(t)}).Check(ctx)
		assert.Less(t, time.Since(start), 2*time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "PING: no answer within the check's timeout", fmt.Sprint(err))
	})
}
