package hosttest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NginxBinary is Debian's nginx.
const NginxBinary = "/usr/sbin/nginx"

// Nginx is a test's own nginx: its own prefix, configuration and port, run
// in the foreground and stopped at cleanup. The system nginx is not touched.
type Nginx struct {
	Dir  string // prefix: nginx.conf, error.log, tmp/
	Port int
	URL  string // http://127.0.0.1:<port>
	// Command invokes this nginx; a switcher appends -t or -s reload.
	Command []string
}

// NginxServer is one server block of NginxConfig: it listens on
// 127.0.0.1:Port and proxies everything to ProxyTo (an upstream name, or
// host:port), passing the upstream's response headers through.
type NginxServer struct {
	Port    int
	ProxyTo string
}

// NginxConfig is the main configuration of an nginx of blueshift's own
// (tests, the bench): everything under prefix, the given files included in
// the http block (the upstream file blueshift writes), one server per entry.
func NginxConfig(prefix string, includes []string, servers ...NginxServer) string {
	var b strings.Builder
	fmt.Fprintf(&b, `daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
worker_processes 2;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
`, prefix)
	for _, inc := range includes {
		fmt.Fprintf(&b, "    include %s;\n", inc)
	}
	for _, srv := range servers {
		fmt.Fprintf(&b, `    server {
        listen 127.0.0.1:%d;
        client_max_body_size 10m;
        location / {
            proxy_pass http://%s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_next_upstream error timeout;
        }
    }
`, srv.Port, srv.ProxyTo)
	}
	b.WriteString("}\n")
	return b.String()
}

// StartNginx runs an nginx that includes upstreamFile (which must exist
// and define the upstreams) and proxies every request to upstream name
// `proxyTo`, passing the upstream's response headers through. It waits until
// nginx accepts connections.
func StartNginx(t testing.TB, upstreamFile, proxyTo string) *Nginx {
	t.Helper()
	_, err := exec.LookPath(NginxBinary)
	Require(t, "nginx ("+NginxBinary+")", err)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "nginx.conf")
	body := NginxConfig(dir, []string{upstreamFile}, NginxServer{Port: port, ProxyTo: proxyTo})
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Nginx{Dir: dir, Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d", port),
		Command: []string{NginxBinary, "-p", dir + "/", "-c", conf, "-e", filepath.Join(dir, "error.log")}}
	cmd := exec.Command(n.Command[0], n.Command[1:]...)
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			out, _ := os.ReadFile(filepath.Join(dir, "stderr.log"))
			t.Fatalf("nginx exited at start: %s%s", out, log)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %d", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Get fetches url and returns status, a response header and the body; it
// fails the test on a transport error.
func Get(t testing.TB, url, header string) (int, string, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get(header), string(b)
}
