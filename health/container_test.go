package health_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dcontainer "github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/health"
)

// --- fakes: the probes' logic ---

type fakeExec struct {
	res dcontainer.ExecResult
	err error
	got []string
}

func (f *fakeExec) Exec(_ context.Context, ctr string, argv []string) (dcontainer.ExecResult, error) {
	f.got = append([]string{ctr}, argv...)
	return f.res, f.err
}

type fakeInspector struct {
	h   dcontainer.Health
	err error
}

func (f fakeInspector) Health(context.Context, string) (dcontainer.Health, error) {
	return f.h, f.err
}

func TestExecProbeWithFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name     string
		res      dcontainer.ExecResult
		err      error
		contains string
		want     string // error text; empty passes
	}{
		{name: "exit 0", res: dcontainer.ExecResult{Stdout: []byte("PONG\n")}, contains: "PONG"},
		{name: "stdout lacks", res: dcontainer.ExecResult{Stdout: []byte("LOADING Redis is loading\n")}, contains: "PONG",
			want: `exec redis: redis-cli ping: exit 0 but stdout lacks "PONG": stdout: LOADING Redis is loading`},
		{name: "exit 1 stderr", res: dcontainer.ExecResult{ExitCode: 1, Stderr: []byte("Could not connect to Redis at 127.0.0.1:6379\n")},
			want: "exec redis: redis-cli ping: exit 1: stderr: Could not connect to Redis at 127.0.0.1:6379"},
		{name: "exit 2 stdout only", res: dcontainer.ExecResult{ExitCode: 2, Stdout: []byte("usage")},
			want: "exec redis: redis-cli ping: exit 2: stdout: usage"},
		{name: "could not run", err: errors.New("No such container: redis"),
			want: "exec redis: redis-cli ping: exec failed: No such container: redis"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeExec{res: c.res, err: c.err}
			p := &health.ExecProbe{Container: "redis", Argv: []string{"redis-cli", "ping"}, StdoutContains: c.contains, Exec: f}
			obs := p.Observe(ctx)
			assert.Equal(t, []string{"redis", "redis-cli", "ping"}, f.got)
			if c.want == "" {
				assert.NoError(t, obs.Err)
				assert.Equal(t, "exit 0", obs.Detail)
				return
			}
			assert.EqualError(t, obs.Err, c.want)
		})
	}
	assert.ErrorIs(t, (&health.ExecProbe{Container: "x"}).Check(ctx), health.ErrPermanent)
}

func TestContainerHealthProbeWithFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name      string
		h         dcontainer.Health
		err       error
		want      string
		permanent bool
	}{
		{name: "healthy", h: dcontainer.Health{State: "running", Status: dcontainer.HealthHealthy}},
		{name: "starting", h: dcontainer.Health{State: "running", Status: dcontainer.HealthStarting},
			want: "docker health app-green-web-1: healthcheck still starting"},
		{name: "unhealthy", h: dcontainer.Health{State: "running", Status: dcontainer.HealthUnhealthy, FailingStreak: 4, LastOutput: "database unreachable\n"},
			want: "docker health app-green-web-1: healthcheck unhealthy (4 failing in a row): last output: database unreachable"},
		{name: "none", h: dcontainer.Health{State: "running", Status: dcontainer.HealthNone},
			want: "docker health app-green-web-1: container has no healthcheck (add one to the service, or use another probe)", permanent: true},
		{name: "exited", h: dcontainer.Health{State: "exited", Status: dcontainer.HealthUnhealthy},
			want: "docker health app-green-web-1: container is exited, not running"},
		{name: "inspect fails", err: errors.New("no such container"),
			want: "docker health app-green-web-1: inspect failed: no such container"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &health.ContainerHealthProbe{Container: "app-green-web-1", Inspector: fakeInspector{h: c.h, err: c.err}}
			err := p.Check(ctx)
			if c.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, c.want)
			assert.Equal(t, c.permanent, errors.Is(err, health.ErrPermanent))
		})
	}
}

// --- the real Docker Engine ---

var testImage struct {
	once sync.Once
	tag  string
	dir  string
	err  error
}

// testLabels mark everything the tests create in Docker.
var testLabels = map[string]string{"blueshift.test": "health"}

// dockerClient returns a client for the local daemon through the local
// host's Dialer, or fails (CI) / skips when there is no daemon.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	return hosttest.Docker(t)
}

// tinydImage builds, once per test binary, a FROM scratch image whose only
// file is testdata/tinyd; TestMain removes it.
func tinydImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	testImage.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		testImage.tag = "blueshift-health-test:" + hex.EncodeToString(b)
		testImage.dir, testImage.err = os.MkdirTemp("", "blueshift-health-test-")
		if testImage.err != nil {
			return
		}
		bin := filepath.Join(testImage.dir, "tinyd")
		if testImage.err = dcontainer.BuildGoBinary(ctx, "testdata/tinyd", bin); testImage.err != nil {
			return
		}
		testImage.err = dcontainer.BuildScratchImage(ctx, cli, dcontainer.ScratchImage{
			Tag: testImage.tag, Binary: bin, Entrypoint: []string{"/tinyd", "serve"}, Labels: testLabels,
		})
	})
	require.NoError(t, testImage.err, "build the test image")
	return testImage.tag
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testImage.tag != "" {
		if cli, err := host.NewDockerClient(host.NewLocal(), ""); err == nil {
			_, _ = cli.ImageRemove(context.Background(), testImage.tag, image.RemoveOptions{Force: true, PruneChildren: true})
			cli.Close()
		}
	}
	if testImage.dir != "" {
		os.RemoveAll(testImage.dir)
	}
	os.Exit(code)
}

// runContainer starts a container of the test image and removes it when
// the test ends.
func runContainer(t *testing.T, cli *client.Client, hc *container.HealthConfig, entrypoint ...string) string {
	t.Helper()
	ctx := context.Background()
	tag := tinydImage(t, cli)
	cfg := &container.Config{Image: tag, Labels: testLabels, Healthcheck: hc, Entrypoint: entrypoint}
	created, err := cli.ContainerCreate(ctx, cfg, &container.HostConfig{}, nil, nil, "")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	require.NoError(t, cli.ContainerStart(ctx, created.ID, container.StartOptions{}))
	return created.ID
}

func fastHealthcheck(test ...string) *container.HealthConfig {
	return &container.HealthConfig{Test: append([]string{"CMD"}, test...), Interval: 100 * time.Millisecond, Timeout: 5 * time.Second, Retries: 1}
}

// TestContainerProbesWithDocker runs the probes through the one Docker
// wrapper, container.Docker, against the local Engine.
func TestContainerProbesWithDocker(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	d := dcontainer.Docker{Engine: cli}
	ctx := context.Background()

	id := runContainer(t, cli, nil)
	ok := &health.ExecProbe{Container: id, Argv: []string{"/tinyd", "echo", "PONG"}, StdoutContains: "PONG", Exec: d}
	assert.NoError(t, ok.Check(ctx))
	bad := &health.ExecProbe{Label: "migrations", Container: id, Argv: []string{"/tinyd", "exit", "1", "pending migrations"}, Exec: d}
	assert.EqualError(t, bad.Check(ctx), "migrations: exit 1: stderr: pending migrations")
	gone := &health.ExecProbe{Label: "gone", Container: "blueshift-health-no-such-container", Argv: []string{"/tinyd", "echo"}, Exec: d}
	assert.ErrorContains(t, gone.Check(ctx), `gone: exec failed: exec "/tinyd" in container blueshift-health-no-such-container: `)

	healthy := runContainer(t, cli, fastHealthcheck("/tinyd", "exit", "0"))
	sick := runContainer(t, cli, fastHealthcheck("/tinyd", "exit", "1", "database unreachable"))
	exited := runContainer(t, cli, nil, "/tinyd", "exit", "0")

	pol := health.Policy{Attempts: 200, Interval: 100 * time.Millisecond} // up to 20s on a loaded machine
	rep, err := health.Wait(ctx, &health.ContainerHealthProbe{Container: healthy, Inspector: d}, pol, nil)
	require.NoError(t, err)
	assert.Equal(t, dcontainer.HealthHealthy, rep.Attempts[len(rep.Attempts)-1].Detail)

	// Wait until Docker has called it unhealthy, then check the message.
	sickProbe := &health.ContainerHealthProbe{Label: "web", Container: sick, Inspector: d}
	require.Eventually(t, func() bool {
		h, err := d.Health(ctx, sick)
		return err == nil && h.Status == dcontainer.HealthUnhealthy
	}, 20*time.Second, 50*time.Millisecond)
	err = sickProbe.Check(ctx)
	require.Error(t, err)
	assert.Regexp(t, `^web: healthcheck unhealthy \(\d+ failing in a row\): last output: database unreachable$`, err.Error())

	// No healthcheck: a permanent failure, no retry helps.
	rep, err = health.Wait(ctx, &health.ContainerHealthProbe{Container: id, Inspector: d}, health.BackendPolicy(), nil)
	assert.ErrorIs(t, err, health.ErrPermanent)
	assert.Len(t, rep.Attempts, 1, "no healthcheck: no retry helps")

	// The exited container: wait for it to stop, then it is not healthy.
	require.Eventually(t, func() bool {
		h, err := d.Health(ctx, exited)
		return err == nil && h.State == "exited"
	}, 20*time.Second, 50*time.Millisecond)
	err = (&health.ContainerHealthProbe{Container: exited, Inspector: d}).Check(ctx)
	assert.ErrorContains(t, err, "container is exited, not running")
}
