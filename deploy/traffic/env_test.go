package traffic

import (
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// backend starts an HTTP server on loopback answering with its colour in
// ColourHeader; it returns its address.
func backend(t *testing.T, colour string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ColourHeader, colour)
		fmt.Fprintf(w, "hello from %s\n", colour)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProcess starts proc with its output in logFile and stops it (SIGTERM,
// then SIGKILL after 10s) when the test ends; the channel closes when it
// exits.
func startProcess(t *testing.T, proc *exec.Cmd, logFile string) <-chan struct{} {
	t.Helper()
	logw, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	proc.Stdout, proc.Stderr = logw, logw
	if err := proc.Start(); err != nil {
		logw.Close()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = proc.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = proc.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = proc.Process.Kill()
			<-exited
		}
		logw.Close()
	})
	return exited
}

// waitHTTP waits until url answers at all.
func waitHTTP(t *testing.T, url string, exited <-chan struct{}, logFile string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			deadline = time.Time{}
		case <-time.After(50 * time.Millisecond):
		}
	}
	logs, _ := os.ReadFile(logFile)
	t.Fatalf("%s did not answer within 15s (or its server exited); log:\n%s", url, logs)
}

// nginxEnv is a private nginx instance proxying to two colour backends.
type nginxEnv struct {
	dir     string
	url     string
	command []string
	routes  []Route
	sw      *Nginx
}

const nginxBin = "/usr/sbin/nginx"

func requireNginx(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath(nginxBin)
	hosttest.Require(t, "nginx ("+nginxBin+")", err)
}

// nginxConf is the main configuration of a test nginx; upstream is the
// include path of the upstream file.
func nginxConf(dir string, port int, upstream, variable string) string {
	return fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
worker_processes 2;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[3]s;
    include %[1]s/conf.d/*.conf;
    server {
        listen 127.0.0.1:%[2]d;
        location / {
            proxy_pass http://demo_backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            add_header X-Blueshift-Proxy-Colour %[4]s always;
        }
    }
}
`, dir, port, upstream, variable)
}

// startNginx runs nginx in the foreground with its own prefix and port,
// with blue live.
func startNginx(t *testing.T) *nginxEnv {
	t.Helper()
	requireNginx(t)
	dir := t.TempDir()
	for _, d := range []string{"tmp", "conf.d", "blueshift"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	routes := []Route{{Name: "demo_backend", Upstreams: Upstreams{Blue: {backend(t, Blue)}, Green: {backend(t, Green)}}}}
	conf := filepath.Join(dir, "nginx.conf")
	command := []string{nginxBin, "-p", dir + "/", "-c", conf, "-e", filepath.Join(dir, "error.log")}
	sw, err := NewNginx(NginxConfig{
		App:          "demo",
		Routes:       routes,
		UpstreamFile: filepath.Join(dir, "blueshift", "demo-upstream.conf"),
		Command:      command,
		Runner:       host.NewLocal(),
	})
	if err != nil {
		t.Fatal(err)
	}
	initial, err := sw.Render(Blue)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sw.UpstreamFile(), initial, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	if err := os.WriteFile(conf, []byte(nginxConf(dir, port, sw.UpstreamFile(), sw.ColourVariable())), 0o644); err != nil {
		t.Fatal(err)
	}
	proc := exec.Command(command[0], command[1:]...)
	exited := startProcess(t, proc, filepath.Join(dir, "stderr.log"))
	env := &nginxEnv{dir: dir, url: fmt.Sprintf("http://127.0.0.1:%d/", port), command: command, routes: routes, sw: sw}
	waitHTTP(t, env.url, exited, filepath.Join(dir, "error.log"))
	return env
}

// caddyBinary is the Caddy built by .ci/setup: $BLUESHIFT_CADDY or
// $(go env GOPATH)/bin/caddy.
func caddyBinary() string {
	if p := os.Getenv("BLUESHIFT_CADDY"); p != "" {
		return p
	}
	return filepath.Join(build.Default.GOPATH, "bin", "caddy")
}

type caddyEnv struct {
	url   string
	admin string
	dir   string // the colour files
	sw    *Caddy
}

// startCaddy runs Caddy with CaddyInitialConfig's configuration for a demo
// app, blue live (its colour file written first). With inherit, Caddy listens on a socket it inherits as fd
// 3 (as from systemd socket activation) instead of binding its own.
func startCaddy(t *testing.T, inherit bool) *caddyEnv {
	t.Helper()
	bin := caddyBinary()
	_, err := os.Stat(bin)
	hosttest.Require(t, "caddy (GOBIN=$(go env GOPATH)/bin go install github.com/caddyserver/caddy/v2/cmd/caddy@v2.10.2)", err)
	dir := t.TempDir()
	port, adminPort := freePort(t), freePort(t)
	admin := fmt.Sprintf("127.0.0.1:%d", adminPort)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	var inherited *os.File
	if inherit {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		inherited, err = l.(*net.TCPListener).File()
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer inherited.Close()
		listen = "fd/3"
	}
	route := Route{Name: "demo_backend", Upstreams: Upstreams{Blue: {backend(t, Blue)}, Green: {backend(t, Green)}}}
	colours := filepath.Join(dir, "colours")
	if err := os.MkdirAll(CaddyColourDir(colours, route.Name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(CaddyColourDir(colours, route.Name), Blue), []byte("blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := CaddyInitialConfig(CaddySite{
		App:    "demo",
		Listen: []string{listen},
		Route:  route,
		Dir:    colours,
		Admin:  admin,
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(file, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "caddy.log")
	proc := exec.Command(bin, "run", "--config", file)
	proc.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir+"/config", "XDG_DATA_HOME="+dir+"/data")
	if inherited != nil {
		proc.ExtraFiles = []*os.File{inherited}
	}
	exited := startProcess(t, proc, logFile)
	env := &caddyEnv{url: fmt.Sprintf("http://127.0.0.1:%d/", port), admin: admin, dir: colours}
	waitHTTP(t, env.url, exited, logFile)
	env.sw, err = NewCaddy(CaddyConfig{Admin: admin, Routes: []Route{route}, Dir: colours, Runner: host.NewLocal(), Dialer: host.NewLocal()})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// is fails t unless errors.Is(err, target).
func is(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v: want one wrapping %v", err, target)
	}
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}
