package container

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

func randomName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

var (
	sharedImageOnce sync.Once
	sharedImageTag  string
	sharedImageErr  error
)

// testImage builds (once per test binary) the test server image with a
// healthcheck, serving on port 8080; TestMain's cleanup removes it.
func testImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	bin := testServerBinary(t)
	sharedImageOnce.Do(func() {
		sharedImageTag = randomName("blueshift-test-server:")
		sharedImageErr = BuildScratchImage(context.Background(), cli, ScratchImage{
			Tag: sharedImageTag, Binary: bin, Labels: testLabel,
			Entrypoint:  []string{"/testserver"},
			Env:         []string{"MESSAGE=hello"},
			Healthcheck: &HealthcheckSpec{Test: []string{"/testserver", "health"}, Interval: 500 * time.Millisecond, Retries: 3},
		})
	})
	if sharedImageErr != nil {
		t.Fatal(sharedImageErr)
	}
	return sharedImageTag
}

// runContainer starts a container of img running cmd, removed at cleanup.
func runContainer(t *testing.T, cli *client.Client, cfg *container.Config) string {
	t.Helper()
	ctx := context.Background()
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels["blueshift.test"] = "1"
	c, err := cli.ContainerCreate(ctx, cfg, nil, nil, nil, randomName("blueshift-test-"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func waitHealth(t *testing.T, cli *client.Client, id, want string) Health {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := ContainerHealth(context.Background(), cli, id)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status == want {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: health %+v, want %s", id, h, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestContainerOps(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	img := testImage(t, cli)
	ctx := context.Background()
	app := randomName("bstest")
	id := runContainer(t, cli, &container.Config{
		Image: img, Cmd: []string{"log", "5"},
		Labels: map[string]string{compose.LabelApp: app, compose.LabelColour: string(version.Blue), "com.docker.compose.service": "web"},
	})

	t.Run("Containers", func(t *testing.T) {
		got, err := Containers(ctx, cli, app, string(version.Blue))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != id || got[0].Service != "web" || got[0].Image != img || got[0].State != "running" {
			t.Errorf("blue containers %+v", got)
		}
		if got, _ := Containers(ctx, cli, app, string(version.Green)); len(got) != 0 {
			t.Errorf("green containers %+v, want none", got)
		}
	})
	t.Run("Health", func(t *testing.T) {
		h := waitHealth(t, cli, id, HealthHealthy)
		if !h.Running || h.State != "running" || h.FailingStreak != 0 {
			t.Errorf("health %+v", h)
		}
		bad := runContainer(t, cli, &container.Config{Image: img, Cmd: []string{"serve"},
			Healthcheck: &container.HealthConfig{Test: []string{"CMD", "/testserver", "unhealthy"}, Interval: 300 * time.Millisecond, Retries: 2}})
		h = waitHealth(t, cli, bad, HealthUnhealthy)
		if h.FailingStreak < 2 || h.LastOutput != "unhealthy on purpose" {
			t.Errorf("unhealthy %+v", h)
		}
		none := runContainer(t, cli, &container.Config{Image: img, Cmd: []string{"serve"},
			Healthcheck: &container.HealthConfig{Test: []string{"NONE"}}})
		if h, err := ContainerHealth(ctx, cli, none); err != nil || h.Status != HealthNone {
			t.Errorf("no healthcheck: %+v %v", h, err)
		}
		if _, err := ContainerHealth(ctx, cli, "blueshift-no-such-container"); err == nil {
			t.Error("missing container: no error")
		}
	})
	t.Run("Exec", func(t *testing.T) {
		res, err := Exec(ctx, cli, id, []string{"/testserver", "echo", "to stdout", "to stderr", "3"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Stdout) != "to stdout" || string(res.Stderr) != "to stderr" || res.ExitCode != 3 {
			t.Errorf("exec: %q %q %d", res.Stdout, res.Stderr, res.ExitCode)
		}
		res, err = Exec(ctx, cli, id, []string{"/testserver", "env", "DB_PASSWORD"}, []string{"DB_PASSWORD=p@ss word"})
		if err != nil || string(res.Stdout) != "p@ss word" || res.ExitCode != 0 {
			t.Errorf("exec env: %q %d %v", res.Stdout, res.ExitCode, err)
		}
		res, err = Exec(ctx, cli, id, []string{"/no-such-binary"}, []string{"TOKEN=s3cret"})
		if err == nil && res.ExitCode == 0 {
			t.Error("missing binary: exit 0")
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("secret in error: %v", err)
		}
		if _, err := Exec(ctx, cli, "blueshift-no-such-container", []string{"/testserver"}, nil); !client.IsErrNotFound(err) {
			t.Errorf("missing container: %v, want a not-found error", err)
		}
	})
	t.Run("Logs", func(t *testing.T) {
		var logs string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var err error
			if logs, err = Logs(ctx, cli, id, 2); err != nil {
				t.Fatal(err)
			}
			if logs == "line 4\nline 5\n" {
				return
			}
		}
		t.Errorf("logs tail 2 = %q", logs)
	})
}

func TestEnsureVolumeAndNetwork(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	ctx := context.Background()
	app := randomName("bstest")
	vol := compose.Resource{Name: app + "_media", Labels: map[string]string{compose.LabelApp: app, "blueshift.test": "1"}}
	nw := compose.Resource{Name: compose.SharedNetwork(app), Labels: vol.Labels}
	t.Cleanup(func() {
		cli.VolumeRemove(context.Background(), vol.Name, true)
		cli.NetworkRemove(context.Background(), nw.Name)
	})
	for i := 0; i < 2; i++ { // the second call finds them
		if err := EnsureVolume(ctx, cli, vol); err != nil {
			t.Fatal(err)
		}
		if err := EnsureNetwork(ctx, cli, nw); err != nil {
			t.Fatal(err)
		}
	}
	v, err := cli.VolumeInspect(ctx, vol.Name)
	if err != nil || v.Labels[compose.LabelApp] != app {
		t.Errorf("volume %+v %v", v, err)
	}
	n, err := cli.NetworkInspect(ctx, nw.Name, network.InspectOptions{})
	if err != nil || n.Driver != "bridge" || n.Labels[compose.LabelApp] != app {
		t.Errorf("network %+v %v", n, err)
	}
	list, _ := cli.VolumeList(ctx, volume.ListOptions{})
	count := 0
	for _, v := range list.Volumes {
		if v.Name == vol.Name {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d volumes named %s", count, vol.Name)
	}
}

// pushTestImage builds an image holding the test server in-process and
// pushes it to the registry at host as repo:tag.
func pushTestImage(t *testing.T, ref string, opts ...remote.Option) v1.Hash {
	t.Helper()
	bin, err := os.ReadFile(testServerBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	// crane.Layer writes mode 0: build the tar entry with 0755 ourselves.
	layerTar, err := tarFiles(map[string]fileEntry{"testserver": {data: bin, mode: 0o755}})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.ConfigMediaType(empty.Image, "application/vnd.docker.container.image.v1+json"), layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/testserver"}, Cmd: []string{"serve"}, Labels: testLabel})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// basicAuth wraps a registry so that it requires user:pass.
func basicAuth(h http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="blueshift-test"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestPullFromRegistry serves a registry in-process on 127.0.0.1 (which the
// daemon, on this machine, treats as insecure), pushes an image to it and
// pulls it through the Docker Engine.
func TestPullFromRegistry(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	ctx := context.Background()
	const user, pass = "ci-bot", "registry-s3cret-token"
	srv := httptest.NewServer(basicAuth(registry.New(registry.Logger(log.New(io.Discard, "", 0))), user, pass))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	repo := host + "/" + randomName("blueshift-test/app")
	ref := repo + ":v1.0.1"
	digest := pushTestImage(t, ref, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	auth := RegistryAuth{Username: user, Password: pass}

	got, err := ImageInRegistry(ctx, cli, ref, auth)
	if err != nil || got != digest.String() {
		t.Fatalf("ImageInRegistry = %q, %v; want %s", got, err, digest)
	}
	if got, err := ImageInRegistry(ctx, cli, repo+":v9.9.9", auth); err != nil || got != "" {
		t.Errorf("missing tag: %q, %v; want \"\", nil", got, err)
	}
	if _, err := ImageInRegistry(ctx, cli, ref, RegistryAuth{Username: user, Password: "wrong-password"}); err == nil || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("wrong credentials: %v", err)
	}
	if ok, err := ImageExistsLocally(ctx, cli, ref); err != nil || ok {
		t.Fatalf("before pull: exists %v, %v", ok, err)
	}

	err = Pull(ctx, cli, ref, RegistryAuth{Username: user, Password: "wrong-password"}, nil)
	if err == nil || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("pull with wrong credentials: %v", err)
	}
	if err := Pull(ctx, cli, repo+":v9.9.9", auth, nil); err == nil {
		t.Error("pull of a missing tag: no error")
	}
	var updates []Progress
	if err := Pull(ctx, cli, ref, auth, func(p Progress) { updates = append(updates, p) }); err != nil {
		t.Fatalf("pull: %v", err)
	}
	if len(updates) == 0 {
		t.Error("no progress reported")
	}
	if ok, err := ImageExistsLocally(ctx, cli, ref); err != nil || !ok {
		t.Errorf("after pull: exists %v, %v", ok, err)
	}
	if d, err := ImageDigest(ctx, cli, ref); err != nil || d != repo+"@"+digest.String() {
		t.Errorf("ImageDigest = %q, %v; want %s@%s", d, err, repo, digest)
	}
	t.Logf("the daemon pulled %s from an in-process registry on %s (%d progress updates)", ref, host, len(updates))
}

func TestImageDigestOfLocalBuild(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	_, err := ImageDigest(context.Background(), cli, testImage(t, cli))
	if !errors.Is(err, ErrNoDigest) {
		t.Errorf("err = %v, want ErrNoDigest", err)
	}
}

// TestRemoveLabelled removes what an app left behind, matched by either of
// two labels, and leaves an unlabelled neighbour alone; a second run finds
// nothing. (This was examples/demo's own sweep, moved here so that only the
// Docker wrapper imports the Docker SDK.)
func TestRemoveLabelled(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	ctx := context.Background()
	img := testImage(t, cli)
	app := randomName("bstest")
	byApp := map[string]string{compose.LabelApp: app, "blueshift.test": "1"}
	byProject := map[string]string{"com.docker.compose.project": app + "-green", "blueshift.test": "1"}
	runContainer(t, cli, &container.Config{Image: img, Cmd: []string{"serve"}, Labels: byApp})
	runContainer(t, cli, &container.Config{Image: img, Cmd: []string{"serve"}, Labels: byProject})
	neighbour := runContainer(t, cli, &container.Config{Image: img, Cmd: []string{"serve"}})
	vol := compose.Resource{Name: app + "_media", Labels: byApp}
	nw := compose.Resource{Name: app + "-green_default", Labels: byProject}
	t.Cleanup(func() {
		cli.VolumeRemove(context.Background(), vol.Name, true)
		cli.NetworkRemove(context.Background(), nw.Name)
	})
	if err := EnsureVolume(ctx, cli, vol); err != nil {
		t.Fatal(err)
	}
	if err := EnsureNetwork(ctx, cli, nw); err != nil {
		t.Fatal(err)
	}
	labels := []string{compose.LabelApp + "=" + app, "com.docker.compose.project=" + app + "-green"}

	if ids, err := LabelledContainers(ctx, cli, labels); err != nil || len(ids) != 2 {
		t.Fatalf("LabelledContainers = %v, %v; want 2", ids, err)
	}
	got, err := RemoveLabelled(ctx, cli, labels)
	if err != nil || got != (Removed{Containers: 2, Volumes: 1, Networks: 1}) {
		t.Fatalf("RemoveLabelled = %+v, %v; want 2 containers, 1 volume, 1 network", got, err)
	}
	if got, err := RemoveLabelled(ctx, cli, labels); err != nil || got != (Removed{}) {
		t.Errorf("second RemoveLabelled = %+v, %v; want nothing", got, err)
	}
	if _, err := cli.ContainerInspect(ctx, neighbour); err != nil {
		t.Errorf("the unlabelled neighbour was removed: %v", err)
	}
	if _, err := cli.VolumeInspect(ctx, vol.Name); !client.IsErrNotFound(err) {
		t.Errorf("volume %s: %v, want gone", vol.Name, err)
	}
}
