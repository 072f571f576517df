package traffic

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"

	bscontainer "github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// nginxImageFiles returns the host's nginx, its shared libraries (from ldd)
// and the few /etc files nginx needs, keyed by their path in an image, plus
// the dynamic loader's path: a scratch image holds only what is copied in.
func nginxImageFiles(t *testing.T) (files map[string][]byte, loader string) {
	t.Helper()
	out, err := exec.Command("ldd", nginxBin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", nginxBin, err)
	}
	files = map[string][]byte{}
	add := func(p string) {
		data, err := os.ReadFile(p) // follows symlinks
		if err != nil {
			t.Fatal(err)
		}
		files[p] = data
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			add(f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/") && strings.Contains(f[0], "ld-linux"):
			loader = f[0]
		}
	}
	if loader == "" {
		t.Fatalf("no dynamic loader in ldd output:\n%s", out)
	}
	add(nginxBin)
	files["/etc/passwd"] = []byte("root:x:0:0:root:/:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n")
	files["/etc/group"] = []byte("root:x:0:\nnogroup:x:65534:\n")
	files["/etc/nsswitch.conf"] = []byte("passwd: files\ngroup: files\n")
	return files, loader
}

// nginx in a container built FROM scratch around the host's own nginx
// binary (no image can be pulled here), on the host network, with its
// configuration directory bind-mounted: the switcher writes the upstream
// file on the host and runs `nginx -t` and `nginx -s reload` through
// `docker exec`.
func TestNginxInContainerConformance(t *testing.T) {
	requireNginx(t)
	cli := hosttest.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	files, loader := nginxImageFiles(t)
	name := fmt.Sprintf("blueshift-traffic-test-nginx-%d", time.Now().UnixNano())
	tag := name + ":test"
	// The loader is the image's one executable; it runs nginx, so nginx
	// needs no exec bit (BuildScratchImage writes extra files 0644).
	command := []string{"/" + filepath.Base(loader), "--library-path", "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64",
		nginxBin, "-p", "/conf/", "-c", "/conf/nginx.conf", "-e", "/conf/error.log"}
	if err := bscontainer.BuildScratchImage(ctx, cli, bscontainer.ScratchImage{
		Tag: tag, Binary: loader, Files: files, Entrypoint: command,
		Labels: map[string]string{"blueshift.test": "1"},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})

	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"tmp", "conf.d", "blueshift"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	routes := []Route{{Name: "demo_backend", Upstreams: Upstreams{Blue: {backend(t, Blue)}, Green: {backend(t, Green)}}}}
	sw, err := NewNginx(NginxConfig{
		App:          "demo",
		Routes:       routes,
		UpstreamFile: filepath.Join(dir, "blueshift", "demo-upstream.conf"),
		IncludePath:  "/conf/blueshift/demo-upstream.conf",
		Container:    name,
		Command:      command,
		Runner:       host.NewLocal(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sw.ReloadArgv()[:3], " "); got != "docker exec "+name {
		t.Fatalf("reload argv %q", sw.ReloadArgv())
	}
	initial, _ := sw.Render(Blue)
	if err := os.WriteFile(sw.UpstreamFile(), initial, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := nginxConf("/conf", port, "/conf/blueshift/demo-upstream.conf", sw.ColourVariable())
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	created, err := cli.ContainerCreate(ctx, &container.Config{Image: tag, Labels: map[string]string{"blueshift.test": "1"}},
		&container.HostConfig{
			NetworkMode: "host",
			Mounts:      []mount.Mount{{Type: mount.TypeBind, Source: dir, Target: "/conf"}},
		}, nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if err := VerifyPublic(ctx, url, Blue, VerifyOptions{Timeout: 30 * time.Second, Interval: 100 * time.Millisecond}); err != nil {
		logs, _ := bscontainer.Logs(ctx, cli, created.ID, 50)
		errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("%v\ncontainer logs:\n%s\nerror.log:\n%s", err, logs, errLog)
	}
	testSwitcher(t, sw, url)
}
