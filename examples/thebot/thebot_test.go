package thebot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// requireTools fails (CI=true) or skips when a component the stack is built
// with is missing.
func requireTools(t *testing.T) {
	t.Helper()
	hosttest.Docker(t)
	hosttest.Require(t, "Docker Compose v2 (docker compose)", exec.Command("docker", "compose", "version").Run())
	for _, bin := range []string{"mmdebstrap", "docker-registry", hosttest.NginxBinary} {
		_, err := exec.LookPath(bin)
		hosttest.Require(t, bin+" (bash examples/thebot/setup.sh)", err)
	}
}

// testOptions are a stack of the test's own: names and ports nothing else
// uses.
func testOptions(t *testing.T) thebot.Options {
	return thebot.Options{
		Dir:          t.TempDir(),
		App:          fmt.Sprintf("thebott%d", rand.IntN(1e6)),
		RegistryAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		ProxyAddr:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		Backend:      thebot.ColourPorts{Blue: freePort(t), Green: freePort(t)},
		Frontend:     thebot.ColourPorts{Blue: freePort(t), Green: freePort(t)},
		Progress:     func(s string) { t.Log(s) },
	}
}

// TestThebotStackServesThroughHostNginx builds the seed's application from
// Debian packages, pushes its images to a real registry with
// authentication, starts it with `docker compose` as the seed did and
// checks every part of it through the host nginx: the backend's health (its
// database and Redis), the frontend on /, the admin's redirect, the API's
// 401, a Celery task run by the worker and the beat's periodic row, the
// static files collectstatic wrote, and an upload served back from the
// media volume.
func TestThebotStackServesThroughHostNginx(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	o := testOptions(t)
	var w *thebot.Workspace
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "compose", "-p", o.App, "logs", "--no-color", "--tail", "30").CombinedOutput()
			t.Logf("compose logs:\n%s", out)
		}
		_, err := thebot.Down(context.Background(), o)
		assert.NoError(t, err)
		if w != nil && w.Images != nil {
			refs := []string{w.Images.DB, w.Images.Redis}
			for _, v := range thebot.Versions {
				refs = append(refs, w.Images.Backend[v], w.Images.Frontend[v])
			}
			_ = exec.Command("docker", append([]string{"rmi", "-f"}, refs...)...).Run()
		}
	})
	w, err := thebot.Up(ctx, o)
	require.NoError(t, err)
	base := w.PublicURL()
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		require.NoError(t, err, path)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := client.Post(base+path, "application/octet-stream", strings.NewReader(body))
		require.NoError(t, err, path)
		defer resp.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(resp.Body)
		require.NoError(t, json.Unmarshal(b, &m), "%s answered %d %s", path, resp.StatusCode, b)
		return resp.StatusCode, m
	}

	code, _, body := get("/api/health/")
	require.Equal(t, 200, code, body)
	var health map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &health))
	assert.Equal(t, "ok", health["status"])
	assert.Equal(t, "ok", health["database"])
	assert.Equal(t, "ok", health["redis"])
	assert.Equal(t, thebot.FirstVersion, health["version"])

	code, _, body = get("/")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "version "+thebot.FirstVersion, "/ must be the frontend")

	code, _, body = get("/api/system/readiness/")
	assert.Equal(t, 200, code, body)
	code, hdr, _ := get("/admin/")
	assert.Equal(t, 302, code)
	assert.Contains(t, hdr.Get("Location"), "/admin/login/")
	code, _, _ = get("/api/v1/auth/status/")
	assert.Equal(t, 401, code)

	// collectstatic wrote the admin's files (with Debian's jQuery) and the
	// app's own into the static volume.
	code, _, _ = get("/static/admin/js/vendor/jquery/jquery.js")
	assert.Equal(t, 200, code)
	code, _, _ = get("/static/core/app.css")
	assert.Equal(t, 200, code)

	// An upload lands in the media volume and is served back.
	payload := fmt.Sprintf("uploaded at %d", time.Now().UnixNano())
	code, up := post("/api/v1/upload/?name=note.txt", payload)
	require.Equal(t, 201, code, up)
	code, _, body = get(up["url"].(string))
	assert.Equal(t, 200, code)
	assert.Equal(t, payload, body)

	// A task sent through the API is run by the worker, which writes a row.
	code, task := post("/api/v1/tasks/", "")
	require.Equal(t, 202, code, task)
	var done map[string]any
	require.Eventually(t, func() bool {
		code, _, body := get("/api/v1/tasks/" + task["token"].(string) + "/")
		return code == 200 && json.Unmarshal([]byte(body), &done) == nil
	}, 90*time.Second, 500*time.Millisecond, "the worker did not run the task")
	assert.Equal(t, thebot.FirstVersion, done["version"])

	// Beat's periodic task writes rows too.
	require.Eventually(t, func() bool {
		out, err := exec.Command("docker", "compose", "-p", o.App, "exec", "-T", "db",
			"psql", "-U", "thebot", "-d", "thebot", "-tAc", "SELECT count(*) FROM core_taskrun WHERE kind='beat'").Output()
		return err == nil && strings.TrimSpace(string(out)) != "0"
	}, 60*time.Second, time.Second, "beat's periodic task wrote no row")
}
