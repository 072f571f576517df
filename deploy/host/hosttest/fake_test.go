package hosttest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// A docker command run from inside a shell script reaches the model
// through the shim: its output, stderr and exit code come back as a real
// program's would.
func TestFakeScriptReachesModel(t *testing.T) {
	t.Parallel()
	f := hosttest.NewFake(t)
	f.Model.SetVersions("99.1.0", "")
	out, err := host.Output(context.Background(), f, "sh", "-c", `v=$(docker version --format '{{.Server.Version}}') && echo "engine $v"`)
	if err != nil || string(out) != "engine 99.1.0\n" {
		t.Fatalf("script: %q, %v", out, err)
	}
	f.Model.Fail(3, "nginx: [emerg] broken", "nginx", "-t")
	err = f.Run(context.Background(), host.Cmd{Argv: []string{"sh", "-c", `nginx -t; echo "code $?" >&2; exit 9`}})
	var exit *host.ExitError
	if !errors.As(err, &exit) || exit.Code != 9 || !strings.Contains(exit.StderrTail, "nginx: [emerg] broken\ncode 3") {
		t.Fatalf("err = %#v", err)
	}
}

// compose up creates the file's containers with compose's labels; a
// published port answers through the fake's dialer only while its
// container runs.
func TestFakeComposeAndPorts(t *testing.T) {
	t.Parallel()
	f := hosttest.NewFake(t)
	f.Model.AddImage("example.test/app:v1")
	file := filepath.Join(f.Dir(), "app-blue.yml")
	compose := "services:\n  web:\n    image: example.test/app:v1\n    labels: {blueshift.colour: blue, blueshift.version: v1}\n" +
		"    ports: [{target: 8000, published: \"47899\"}]\n"
	if err := os.WriteFile(file, []byte(compose), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func(args ...string) error {
		return f.Run(ctx, host.Cmd{Argv: append([]string{"docker", "compose", "--project-name", "app-blue", "--file", file}, args...)})
	}
	if err := run("up", "--detach"); err != nil {
		t.Fatal(err)
	}
	cs := f.Model.Containers("app-blue")
	if len(cs) != 1 || !cs[0].Running() || cs[0].Labels["com.docker.compose.project.config_files"] != file || cs[0].Labels["blueshift.colour"] != "blue" {
		t.Fatalf("containers %+v", cs)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: f.DialContext}}
	resp, err := client.Get("http://127.0.0.1:47899/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "v1 blue\n" {
		t.Errorf("body %q", body)
	}
	if err := run("stop"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DialContext(ctx, "tcp", "127.0.0.1:47899"); err == nil {
		t.Error("a stopped container's port accepted a connection")
	}
}
