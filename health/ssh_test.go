package health_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dcontainer "github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/health"
)

// TestProbesOverSSH runs the network probes through a real sshd: every
// connection is a direct-tcpip channel opened by the SSH host's Dialer.
func TestProbesOverSSH(t *testing.T) {
	t.Parallel()
	pg := requirePostgres(t)
	redisAddr := requireRedis(t)
	h := hosttest.NewSSHHost(t)
	ctx := context.Background()

	t.Run("postgres", func(t *testing.T) {
		p := &health.PostgresProbe{URL: pg.String(), Dialer: h}
		require.NoError(t, p.Check(ctx))

		bad := *pg
		bad.User = url.UserPassword(pg.User.Username(), "wrong-over-ssh-0451")
		err := (&health.PostgresProbe{URL: bad.String(), Dialer: h}).Check(ctx)
		assert.ErrorIs(t, err, health.ErrPermanent)
		assert.NotContains(t, err.Error(), "wrong-over-ssh-0451")
	})

	t.Run("postgres hang is cut off", func(t *testing.T) {
		// pgx relies on conn deadlines to honour ctx: SSH conns must have them.
		slow := *pg
		slow.Host = silentListener(t)
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := (&health.PostgresProbe{URL: slow.String(), Dialer: h}).Check(cctx)
		assert.Less(t, time.Since(start), 3*time.Second)
		assert.ErrorContains(t, err, "connect: no answer within the check's timeout")
	})

	t.Run("redis", func(t *testing.T) {
		obs := (&health.RedisProbe{Addr: redisAddr, Dialer: h}).Observe(ctx)
		require.NoError(t, obs.Err)
		assert.Equal(t, "PONG", obs.Detail)

		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		err := (&health.RedisProbe{Addr: silentListener(t), Dialer: h}).Check(cctx)
		assert.ErrorContains(t, err, "PING: no answer within the check's timeout")
	})

	t.Run("down", func(t *testing.T) {
		err := (&health.TCPProbe{Addr: closedAddr(t), Dialer: h}).Check(ctx)
		assert.Error(t, err)
	})

	t.Run("http smoke and monitor", func(t *testing.T) {
		colour := httptest.NewServer(seedApp("the-bot.ru", nil))
		t.Cleanup(colour.Close)
		rep, err := health.Suite{BaseURL: colour.URL, Host: "the-bot.ru", Endpoints: health.DefaultEndpoints(), Dialer: h}.Run(ctx)
		require.NoError(t, err, rep.Table())

		sum, err := health.Monitor{
			Probe:  &health.HTTPProbe{URL: colour.URL + "/api/health/", Host: "the-bot.ru", Dialer: h},
			Window: 100 * time.Millisecond, Interval: 25 * time.Millisecond, Timeout: 5 * time.Second, MaxErrors: 0,
		}.Run(ctx)
		require.NoError(t, err)
		assert.Positive(t, sum.Checks)
		assert.Equal(t, map[int]int{http.StatusOK: sum.Checks}, sum.Statuses)
	})

	t.Run("docker exec", func(t *testing.T) {
		local := dockerClient(t)
		id := runContainer(t, local, fastHealthcheck("/tinyd", "exit", "0"))
		remote, err := host.NewDockerClient(h, "")
		require.NoError(t, err)
		defer remote.Close()
		d := dcontainer.Docker{Engine: remote}
		p := &health.ExecProbe{Container: id, Argv: []string{"/tinyd", "echo", "PONG"}, StdoutContains: "PONG", Exec: d}
		require.NoError(t, p.Check(ctx))
		_, err = health.Wait(ctx, &health.ContainerHealthProbe{Container: id, Inspector: d}, health.Policy{Attempts: 200, Interval: 100 * time.Millisecond}, nil)
		require.NoError(t, err)
	})
}
