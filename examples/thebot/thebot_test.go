package thebot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// shared is one Build for the package's tests: the images and the
// registry they are in (built on first use, removed by TestMain).
var shared struct {
	once sync.Once
	o    thebot.Options
	im   *thebot.Images
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.im != nil {
		_, _ = thebot.Down(context.Background(), shared.o)
		refs := []string{shared.im.DB, shared.im.Redis}
		for _, r := range thebot.Releases() {
			refs = append(refs, shared.im.Backend[r.Version], shared.im.Frontend[r.Version])
		}
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, refs...)...).Run()
	}
	if shared.o.Dir != "" {
		_ = os.RemoveAll(shared.o.Dir)
	}
	os.Exit(code)
}

// sharedImages builds the stack's images once, into a registry of the
// tests' own.
func sharedImages(t *testing.T) *thebot.Images {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "thebot-images-")
		if err != nil {
			shared.err = err
			return
		}
		shared.o = thebot.Options{Dir: dir, App: fmt.Sprintf("thebotimg%d", rand.IntN(1e6)),
			RegistryAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Progress: func(s string) { t.Log(s) }}
		shared.im, shared.err = thebot.Build(context.Background(), shared.o)
		if im := shared.im; im != nil {
			t.Logf("images: base %s (built now: %v), docker builds %s, push %s", im.BaseTime.Round(time.Second), im.BaseBuilt, im.BuildTime.Round(time.Second), im.PushTime.Round(time.Second))
		}
		shared.o.Progress = nil // that test ends before TestMain cleans up
	})
	require.NoError(t, shared.err)
	return shared.im
}

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
// static files collectstatic wrote, an upload served back from the media
// volume, and the app's own Django tests.
func TestThebotStackServesThroughHostNginx(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	o := testOptions(t)
	o.Images = sharedImages(t)
	cleanupStack(t, o, o.App)
	w, err := thebot.Up(ctx, o)
	require.NoError(t, err)
	get, post := clientFor(t, w.PublicURL())

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
	assert.Equal(t, thebot.FirstVersion, runTask(t, get, post)["version"])

	// The app's own tests (the seed's Phase 3) pass against this PostgreSQL
	// 15 and Redis (Django creates test_thebot: POSTGRES_USER is superuser).
	out, err := exec.Command("docker", "compose", "-p", o.App, "exec", "-T", "backend",
		"python", "manage.py", "test", "--noinput", "core").CombinedOutput()
	assert.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "OK")

	// Beat's periodic task writes rows too.
	require.Eventually(t, func() bool {
		out, err := exec.Command("docker", "compose", "-p", o.App, "exec", "-T", "db",
			"psql", "-U", "thebot", "-d", "thebot", "-tAc", "SELECT count(*) FROM core_taskrun WHERE kind='beat'").Output()
		return err == nil && strings.TrimSpace(string(out)) != "0"
	}, 60*time.Second, time.Second, "beat's periodic task wrote no row")
}

type getFunc func(path string) (int, http.Header, string)
type postFunc func(path, body string) (int, map[string]any)

// clientFor returns GET and POST helpers on base that do not follow
// redirects.
func clientFor(t *testing.T, base string) (getFunc, postFunc) {
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
	return get, post
}

// runTask sends a task through the API and waits for the worker's row;
// it returns what the row says (version, worker).
func runTask(t *testing.T, get getFunc, post postFunc) map[string]any {
	t.Helper()
	code, task := post("/api/v1/tasks/", "")
	require.Equal(t, 202, code, task)
	var done map[string]any
	require.Eventually(t, func() bool {
		code, _, body := get("/api/v1/tasks/" + task["token"].(string) + "/")
		return code == 200 && json.Unmarshal([]byte(body), &done) == nil
	}, 90*time.Second, 500*time.Millisecond, "the worker did not run the task")
	return done
}

// cleanupStack removes the stack at the end of the test, showing the
// compose projects' logs if it failed.
func cleanupStack(t *testing.T, o thebot.Options, projects ...string) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range projects {
				out, _ := exec.Command("docker", "compose", "-p", p, "logs", "--no-color", "--tail", "30").CombinedOutput()
				t.Logf("compose logs of %s:\n%s", p, out)
			}
		}
		_, err := thebot.Down(context.Background(), o)
		assert.NoError(t, err)
	})
}
