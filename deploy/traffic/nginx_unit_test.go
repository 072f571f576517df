package traffic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/health"
)

// fakeHost is a Runner with an in-memory filesystem for the POSIX tools the
// file helpers use; nginx's commands succeed unless fail names them.
type fakeHost struct {
	files map[string]string
	argvs [][]string
	fail  map[string]string // joined argv -> stderr of a failure
	tmps  int
}

func newFakeHost() *fakeHost {
	return &fakeHost{files: map[string]string{}, fail: map[string]string{}}
}

func (f *fakeHost) Run(_ context.Context, c host.Cmd) error {
	f.argvs = append(f.argvs, c.Argv)
	a := c.Argv
	exit := func(code int, msg string) error {
		if c.Stderr != nil {
			io.WriteString(c.Stderr, msg)
		}
		return &host.ExitError{Host: "fake", Argv: a, Code: code, StderrTail: msg}
	}
	if msg, ok := f.fail[strings.Join(a, " ")]; ok {
		return exit(1, msg)
	}
	last := a[len(a)-1]
	if a[0] == "sh" && len(a) > 2 {
		// host's file scripts: "sh -c SCRIPT sh ARGS...", marked by their
		// first line.
		switch {
		case strings.HasPrefix(a[2], "# blueshift:read-file"):
			data, ok := f.files[a[4]]
			if !ok {
				return exit(66, "")
			}
			io.WriteString(c.Stdout, data)
		case strings.HasPrefix(a[2], "# blueshift:write-file"):
			data, _ := io.ReadAll(c.Stdin)
			f.files[a[4]+"/"+a[5]] = string(data)
		case strings.HasPrefix(a[2], "# blueshift:nginx-switch"):
			// The switch script: write, nginx -t, nginx -s reload,
			// restoring the previous file when either fails. The nginx
			// commands are recorded as if run on their own.
			file := a[4] + "/" + a[5]
			old, existed := f.files[file]
			restore := func() {
				if existed {
					f.files[file] = old
				} else {
					delete(f.files, file)
				}
			}
			data, _ := io.ReadAll(c.Stdin)
			f.files[file] = string(data)
			nginx := a[7:]
			for i, args := range [][]string{{"-t"}, {"-s", "reload"}} {
				if err := f.Run(context.Background(), host.Cmd{Argv: append(append([]string{}, nginx...), args...), Stderr: c.Stderr}); err != nil {
					restore()
					return exit(80+2*i, "")
				}
			}
		}
		return nil
	}
	switch a[0] {
	case "test":
		if _, ok := f.files[last]; !ok {
			return exit(1, "")
		}
	case "cat":
		data, ok := f.files[last]
		if !ok {
			return exit(1, "cat: no such file")
		}
		io.WriteString(c.Stdout, data)
	case "mktemp":
		f.tmps++
		name := fmt.Sprintf("%s/.tmp-%d", a[2], f.tmps)
		f.files[name] = ""
		io.WriteString(c.Stdout, name+"\n")
	case "dd":
		data, _ := io.ReadAll(c.Stdin)
		f.files[strings.TrimPrefix(a[1], "of=")] = string(data)
	case "mv":
		f.files[last] = f.files[a[len(a)-2]]
		delete(f.files, a[len(a)-2])
	case "rm":
		delete(f.files, last)
	case "mkdir", "chmod", "sync":
	default:
		if c.Stdout != nil && last == "-T" {
			io.WriteString(c.Stdout, "# configuration file /etc/nginx/nginx.conf:\nproxy_pass http://app_backend;\n# configuration file /srv/blueshift/app-upstream.conf:\n")
		}
	}
	return nil
}

// commands returns the non-file commands run, joined.
func (f *fakeHost) commands() []string {
	var out []string
	for _, a := range f.argvs {
		switch a[0] {
		case "test", "cat", "dd", "mv", "rm", "mkdir", "chmod", "mktemp", "sync":
			continue
		case "sh":
			if !strings.HasPrefix(a[2], "# blueshift:nginx-switch") {
				continue
			}
			out = append(out, "nginx-switch "+strings.Join(a[4:], " "))
			continue
		}
		out = append(out, strings.Join(a, " "))
	}
	return out
}

var twoColours = []Route{{Name: "app_backend", Upstreams: Upstreams{Blue: {"127.0.0.1:8001", "127.0.0.1:8011"}, Green: {"127.0.0.1:8002"}}}}

func TestNginxArgvPinned(t *testing.T) {
	onHost, err := NewNginx(NginxConfig{App: "app", Routes: twoColours, Runner: newFakeHost()})
	if err != nil {
		t.Fatal(err)
	}
	inContainer, err := NewNginx(NginxConfig{App: "app", Routes: twoColours, Runner: newFakeHost(), Container: "proxy", Command: []string{"/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want []string }{
		{onHost.TestArgv(), []string{"nginx", "-t"}},
		{onHost.DumpArgv(), []string{"nginx", "-T"}},
		{onHost.ReloadArgv(), []string{"nginx", "-s", "reload"}},
		{inContainer.TestArgv(), []string{"docker", "exec", "proxy", "/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf", "-t"}},
		// The switch is one command (on 5078919 it was five: read, write,
		// nginx -t, reload, and a write to restore on failure).
		{onHost.SwitchArgv(), []string{"sh", "-c", switchScript, "sh", "/etc/nginx/blueshift", "app-upstream.conf", "0644", "nginx"}},
		{inContainer.SwitchArgv(), []string{"sh", "-c", switchScript, "sh", "/etc/nginx/blueshift", "app-upstream.conf", "0644", "docker", "exec", "proxy", "/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf"}},
		{inContainer.ReloadArgv(), []string{"docker", "exec", "proxy", "/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf", "-s", "reload"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("argv %q, want %q", c.got, c.want)
		}
	}
	if got := onHost.UpstreamFile(); got != "/etc/nginx/blueshift/app-upstream.conf" {
		t.Errorf("default upstream file %q", got)
	}
}

func TestNginxRender(t *testing.T) {
	n, err := NewNginx(NginxConfig{App: "my-app", Routes: twoColours, Runner: newFakeHost(), ColourListen: "127.0.0.1:8999"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := n.Render(Blue)
	if err != nil {
		t.Fatal(err)
	}
	want := `# blueshift colour=blue
# Written by blueshift for my-app; the next switch replaces this file.
upstream app_backend {
    server 127.0.0.1:8001;
    server 127.0.0.1:8011;
    keepalive 16;
}
map $host $blueshift_my_app_colour {
    default "blue";
}
# The colour nginx has loaded, for blueshift to check after a switch.
server {
    listen 127.0.0.1:8999;
    server_name blueshift-colour.my-app;
    access_log off;
    location = /blueshift/colour {
        default_type application/json;
        return 200 '{"app":"my-app","colour":"$blueshift_my_app_colour"}\n';
    }
    location / {
        return 404;
    }
}
`
	if string(got) != want {
		t.Errorf("Render(blue):\n%s\nwant:\n%s", got, want)
	}
	if c, err := parseMarker("f", got); err != nil || c != Blue {
		t.Errorf("parseMarker = %q, %v", c, err)
	}
	if _, err := n.Render("purple"); err == nil {
		t.Error("Render(purple) succeeded")
	}
}

// TestNginxColourListenDefaults pins where the colour server listens: a
// port from the app and file's hash (two apps or test instances on one
// machine differ), off in container mode, and no unix sockets (a socket
// left by a crash stops nginx from starting: "bind() ... Address already
// in use").
func TestNginxColourListenDefaults(t *testing.T) {
	listen := func(cfg NginxConfig) (string, error) {
		cfg.Routes, cfg.Runner = twoColours, newFakeHost()
		n, err := NewNginx(cfg)
		if err != nil {
			return "", err
		}
		return n.ColourListen(), nil
	}
	a, _ := listen(NginxConfig{App: "a"})
	again, _ := listen(NginxConfig{App: "a"})
	b, _ := listen(NginxConfig{App: "b"})
	other, _ := listen(NginxConfig{App: "a", UpstreamFile: "/tmp/t1/a.conf"})
	if a != again || a == b || a == other || !strings.HasPrefix(a, "127.0.0.1:2") {
		t.Errorf("default listens: a %s (again %s), b %s, a elsewhere %s", a, again, b, other)
	}
	if got, _ := listen(NginxConfig{App: "a", Container: "proxy"}); got != ColourListenOff {
		t.Errorf("container mode: %q, want off", got)
	}
	for _, bad := range []string{"unix:/run/x.sock", "127.0.0.1", "127.0.0.1:0", "x y:80"} {
		if _, err := listen(NginxConfig{App: "a", ColourListen: bad}); err == nil || !strings.Contains(err.Error(), "nginx: colour listen:") {
			t.Errorf("ColourListen %q: %v", bad, err)
		}
	}
	n, err := NewNginx(NginxConfig{App: "a", Routes: twoColours, Runner: newFakeHost(), ColourListen: ColourListenOff})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := n.Render(Blue); strings.Contains(string(b), "server {") {
		t.Errorf("colour listen off still renders a server:\n%s", b)
	}
	if err := n.Verify(context.Background(), Blue, health.Policy{}); !errors.Is(err, ErrNotVerifiable) {
		t.Errorf("Verify with the colour server off: %v", err)
	}
}

func TestNginxContainerModeSwitchAndRestore(t *testing.T) {
	ctx := context.Background()
	f := newFakeHost()
	n, err := NewNginx(NginxConfig{App: "app", Routes: twoColours, Runner: f, Container: "proxy",
		UpstreamFile: "/srv/blueshift/app-upstream.conf", IncludePath: "/etc/nginx/blueshift/app-upstream.conf"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Live(ctx); !strings.Contains(fmt.Sprint(err), "does not exist yet") {
		t.Fatalf("Live before any switch: %v", err)
	}
	is(t, func() error { _, err := n.Live(ctx); return err }(), ErrNoLiveColour)
	if err := n.Switch(ctx, Blue); err != nil {
		t.Fatal(err)
	}
	// One command: the switch script, which runs nginx -t and the reload.
	want := []string{"nginx-switch /srv/blueshift app-upstream.conf 0644 docker exec proxy nginx", "docker exec proxy nginx -t", "docker exec proxy nginx -s reload"}
	if got := f.commands(); !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %q, want %q", got, want)
	}
	if live, err := n.Live(ctx); err != nil || live != Blue {
		t.Fatalf("Live = %q, %v", live, err)
	}
	blueFile := f.files["/srv/blueshift/app-upstream.conf"]

	// A failed check restores the previous file and never reloads.
	f.argvs = nil
	f.fail["docker exec proxy nginx -t"] = "nginx: [emerg] host not found in upstream \"x\" in /etc/nginx/blueshift/app-upstream.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n"
	err = n.Switch(ctx, Green)
	is(t, err, ErrConfigInvalid)
	mustContain(t, err.Error(), `host not found in upstream "x"`)
	if got := f.commands(); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("commands %q after a failed check, want only %q", got, want[:2])
	}
	if f.files["/srv/blueshift/app-upstream.conf"] != blueFile {
		t.Fatal("upstream file not restored after a failed check")
	}

	// A failed reload restores too.
	delete(f.fail, "docker exec proxy nginx -t")
	f.fail["docker exec proxy nginx -s reload"] = "nginx: [error] invalid PID number \"\" in \"/run/nginx.pid\"\n"
	err = n.Switch(ctx, Green)
	mustContain(t, fmt.Sprint(err), "invalid PID number")
	if f.files["/srv/blueshift/app-upstream.conf"] != blueFile {
		t.Fatal("upstream file not restored after a failed reload")
	}
	for p := range f.files {
		if strings.Contains(p, ".tmp") {
			t.Errorf("temporary file %s left behind", p)
		}
	}

	// Validate looks for the path nginx sees inside the container.
	delete(f.fail, "docker exec proxy nginx -s reload")
	is(t, n.Validate(ctx), ErrNotWired)
}

func TestNewNginxAndCaddyRejectBadConfig(t *testing.T) {
	r := newFakeHost()
	for _, c := range []struct {
		cfg  NginxConfig
		want string
	}{
		{NginxConfig{App: "", Routes: twoColours, Runner: r}, "nginx: app"},
		{NginxConfig{App: "a", Runner: r}, "nginx: routes: at least one route"},
		{NginxConfig{App: "a", Routes: []Route{{Name: "x y", Upstreams: Upstreams{Blue: {"h:1"}}}}, Runner: r}, "nginx: routes[0].name"},
		{NginxConfig{App: "a", Routes: []Route{{Name: "x", Upstreams: Upstreams{Blue: {"h:99999"}}}}, Runner: r}, "nginx: routes[0].upstreams.blue: \"h:99999\": want a port in 1-65535"},
		{NginxConfig{App: "a", Routes: []Route{{Name: "x", Upstreams: Upstreams{Blue: {"h:1; evil"}}}}, Runner: r}, "want host:port"},
		{NginxConfig{App: "a", Routes: twoColours}, "nginx: runner: required"},
		{NginxConfig{App: "a", Routes: twoColours, Runner: r, UpstreamFile: "rel.conf"}, "absolute path"},
	} {
		_, err := NewNginx(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewNginx(%+v) = %v; want %q", c.cfg, err, c.want)
		}
	}
}
