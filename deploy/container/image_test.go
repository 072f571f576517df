package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// testLabel marks every image and container the tests create.
var testLabel = map[string]string{"blueshift.test": "1"}

// dockerClient returns a client for the local Docker Engine, or skips (fails
// in CI) when there is none.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx)
	}
	hosttest.Require(t, "Docker Engine", err)
	t.Cleanup(func() { cli.Close() })
	return cli
}

var (
	testBinaryOnce sync.Once
	testBinaryPath string
	testBinaryErr  error
)

// testServerBinary builds testdata/testserver once per test binary.
func testServerBinary(t *testing.T) string {
	t.Helper()
	testBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "blueshift-container-test-")
		if err != nil {
			testBinaryErr = err
			return
		}
		testBinaryPath = filepath.Join(dir, "testserver")
		testBinaryErr = BuildGoBinary(context.Background(), "testdata/testserver", testBinaryPath)
	})
	if testBinaryErr != nil {
		t.Fatalf("build test server: %v", testBinaryErr)
	}
	return testBinaryPath
}

// uniqueTag returns an image tag no other test uses.
func uniqueTag(t *testing.T, name string) string {
	return "blueshift-test-" + name + ":" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + "-" + time.Now().Format("150405.000000")[7:]
}

// removeImageAtCleanup removes tag when the test ends.
func removeImageAtCleanup(t *testing.T, cli *client.Client, tag string) {
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedImageTag != "" {
		if cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err == nil {
			_, _ = cli.ImageRemove(context.Background(), sharedImageTag, image.RemoveOptions{Force: true, PruneChildren: true})
			cli.Close()
		}
	}
	if testBinaryPath != "" {
		os.RemoveAll(filepath.Dir(testBinaryPath))
	}
	os.Exit(code)
}

func TestScratchDockerfile(t *testing.T) {
	got, err := scratchDockerfile(ScratchImage{
		Tag:          "x:1",
		Binary:       "/tmp/bin/app",
		Env:          []string{"MESSAGE=hello $USER \"quoted\" \\", "EMPTY="},
		ExposedPorts: []string{"8080", "9090/udp"},
		Healthcheck: &HealthcheckSpec{
			Test: []string{"CMD", "/app", "health"}, Interval: time.Second,
			Timeout: 2 * time.Second, StartPeriod: 500 * time.Millisecond, Retries: 5,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `FROM scratch
ENV MESSAGE="hello \$USER \"quoted\" \\"
ENV EMPTY=""
EXPOSE 8080
EXPOSE 9090/udp
HEALTHCHECK --interval=1s --timeout=2s --start-period=500ms --retries=5 CMD ["/app","health"]
COPY rootfs/ /
ENTRYPOINT ["/app"]
`
	if string(got) != want {
		t.Errorf("Dockerfile:\n%s\nwant:\n%s", got, want)
	}
}

func TestScratchDockerfileRejects(t *testing.T) {
	for name, img := range map[string]ScratchImage{
		"env without =":    {Env: []string{"NOVALUE"}},
		"env newline":      {Env: []string{"A=b\nRUN x"}},
		"cmd-shell":        {Healthcheck: &HealthcheckSpec{Test: []string{"CMD-SHELL", "curl x"}}},
		"empty healthtest": {Healthcheck: &HealthcheckSpec{Test: []string{"CMD"}}},
		"port with space":  {ExposedPorts: []string{"80 443"}},
		"entry newline":    {Entrypoint: []string{"/app\nRUN"}},
	} {
		img.Binary = "/app"
		if _, err := scratchDockerfile(img); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestScratchContextModes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := scratchContext(ScratchImage{Tag: "x:1", Binary: bin, Files: map[string][]byte{"/etc/app/config.yml": []byte("a: 1")}})
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]int64{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = h.Mode
	}
	want := map[string]int64{
		"Dockerfile": 0o644, "rootfs/": 0o755, "rootfs/app": 0o755, "rootfs/etc/": 0o755,
		"rootfs/etc/app/": 0o755, "rootfs/etc/app/config.yml": 0o644,
	}
	for name, mode := range want {
		if modes[name] != mode {
			t.Errorf("%s: mode %o, want %o (all: %v)", name, modes[name], mode, modes)
		}
	}
	if len(modes) != len(want) {
		t.Errorf("entries %v, want %v", modes, want)
	}
	if _, err := scratchContext(ScratchImage{Tag: "x:1", Binary: bin, Files: map[string][]byte{"app": nil}}); err == nil {
		t.Error("a file clashing with the binary: no error")
	}
	if _, err := scratchContext(ScratchImage{Tag: "x:1", Binary: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing binary: no error")
	}
}

func TestGoBuildCmd(t *testing.T) {
	c := GoBuildCmd("cmd/app", "/tmp/out/app")
	want := []string{"go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", "/tmp/out/app", "."}
	if strings.Join(c.Argv, "\x00") != strings.Join(want, "\x00") || c.Dir != "cmd/app" ||
		strings.Join(c.Env, " ") != "CGO_ENABLED=0 GOOS=linux" {
		t.Errorf("GoBuildCmd = %+v", c)
	}
}

func TestBuildGoBinaryFails(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() { undefined() }\n"), 0o644)
	err := BuildGoBinary(context.Background(), dir, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Fatalf("err = %v, want the compiler's message", err)
	}
}

func TestBuildScratchImage(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	ctx := context.Background()
	tag := uniqueTag(t, "build")
	removeImageAtCleanup(t, cli, tag)
	err := BuildScratchImage(ctx, cli, ScratchImage{
		Tag:          tag,
		Binary:       testServerBinary(t),
		Files:        map[string][]byte{"etc/message": []byte("hi")},
		Env:          []string{"MESSAGE=hello world", "PORT=8081"},
		Labels:       testLabel,
		ExposedPorts: []string{"8081/tcp"},
		Healthcheck:  &HealthcheckSpec{Test: []string{"/testserver", "health"}, Interval: time.Second, Retries: 2},
		Entrypoint:   []string{"/testserver", "serve"},
	})
	if err != nil {
		t.Fatal(err)
	}
	inspect, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	cfg := inspect.Config
	if got := strings.Join(cfg.Entrypoint, " "); got != "/testserver serve" {
		t.Errorf("entrypoint %q", got)
	}
	// The daemon adds a default PATH.
	if got := strings.Join(cfg.Env, ","); !strings.HasSuffix(got, ",MESSAGE=hello world,PORT=8081") {
		t.Errorf("env %q", got)
	}
	if cfg.Labels["blueshift.test"] != "1" {
		t.Errorf("labels %v", cfg.Labels)
	}
	if _, ok := cfg.ExposedPorts["8081/tcp"]; !ok {
		t.Errorf("exposed ports %v", cfg.ExposedPorts)
	}
	if hc := cfg.Healthcheck; hc == nil || strings.Join(hc.Test, " ") != "CMD /testserver health" || hc.Interval != time.Second || hc.Retries != 2 {
		t.Errorf("healthcheck %+v", hc)
	}
}

func TestBuildScratchImageReportsStreamErrors(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	tag := uniqueTag(t, "bad")
	removeImageAtCleanup(t, cli, tag)
	// An invalid ExposedPorts value passes our checks but the daemon rejects
	// it while building: the error arrives in the stream, not the response.
	err := BuildScratchImage(context.Background(), cli, ScratchImage{
		Tag: tag, Binary: testServerBinary(t), Labels: testLabel, ExposedPorts: []string{"notaport"},
	})
	if !errors.Is(err, ErrBuild) {
		t.Fatalf("err = %v, want ErrBuild", err)
	}
	t.Log(err)
}
