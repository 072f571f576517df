package thebot_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// readmeConfig returns the deploy.yml block of README.md's "Deploying your
// app", exactly as printed.
func readmeConfig(t *testing.T) []byte {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := bytes.Cut(readme, []byte("\n## Deploying your app\n"))
	require.True(t, ok, "README.md has no \"## Deploying your app\" section")
	_, block, ok := bytes.Cut(section, []byte("\n```yaml\n"))
	require.True(t, ok, "no ```yaml block in \"Deploying your app\"")
	block, _, ok = bytes.Cut(block, []byte("\n```\n"))
	require.True(t, ok, "the ```yaml block does not end")
	return append(block, '\n')
}

// referencedVars lists the ${NAME} and ${NAME:-default} in cfg.
func referencedVars(cfg []byte) []string {
	var names []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllSubmatch(cfg, -1) {
		if n := string(m[1]); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// TestReadmeConfigDeploysThebot is the README's promise, kept: its
// deploy.yml block, extracted as printed, with only the variables it names
// set to this machine's thebot stack (the host "local", the host nginx's
// configuration and upstream file, the registry's credentials), passes
// `config:check` and deploys thebot v1.0.0, then v1.0.1 (an expand
// migration, a new static file, a changed frontend; pulled from the
// registry), through the compiled mage binary, under 150 req/s on / and 20
// req/s on /api/health/ through the public nginx. Not one request may
// fail; afterwards / is the new frontend, the new colour's Celery worker
// runs a task, the migration is applied and a file uploaded before is
// still served.
//
// It replaces TestThebotDeploysWithBlueshiftWithTodaysWorkarounds, which
// needed three workarounds: proxy.version_header "" (the switch waited for
// an X-Blueshift-Colour header thebot never sends and rolled back after
// 30 s), smoke endpoints without / (smoke sent / to the backend, where
// Django answers 404) and backup.postgres.user thebot (the default
// "postgres" role does not exist when the compose file sets POSTGRES_USER,
// so every deployment after the first failed its backup).
func TestReadmeConfigDeploysThebot(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	cfg := readmeConfig(t)

	o := testOptions(t)
	// The README's names and ports.
	o.App = "the-bot"
	o.Backend = thebot.ColourPorts{Blue: 8001, Green: 8002}
	o.Frontend = thebot.ColourPorts{Blue: 3001, Green: 3002}
	// Other tests may hold one for a moment (a kernel-picked port).
	for _, p := range []int{8001, 8002, 3001, 3002} {
		require.Eventually(t, func() bool {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				l.Close()
			}
			return err == nil
		}, 2*time.Minute, time.Second, "the README's port %d must be free on this machine", p)
	}
	o.Images = sharedImages(t)
	cleanupStack(t, o, o.App, o.App+"-blue", o.App+"-green")
	w, err := thebot.Open(o)
	require.NoError(t, err)
	w.Images = o.Images
	require.NoError(t, w.WriteFiles(w.Images))
	require.NoError(t, w.StartProxy(ctx))

	appPath := filepath.Join(w.Dir, "srv")
	require.NoError(t, os.MkdirAll(appPath, 0o755))
	env, err := os.ReadFile(w.EnvFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(appPath, thebot.EnvName), env, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(w.Dir, "deploy.yml"), cfg, 0o644))

	vars := map[string]string{
		"PRODUCTION_HOST":     "local",
		"PRODUCTION_PATH":     appPath,
		"PUBLIC_URL":          w.PublicURL(),
		"NGINX_UPSTREAM_FILE": w.UpstreamFile(),
		"NGINX_CONF":          filepath.Join(w.NginxDir, "nginx.conf"),
		"REGISTRY_USERNAME":   thebot.RegistryUser,
		"REGISTRY_PASSWORD":   w.Images.Registry.Password,
	}
	refs := referencedVars(cfg)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		assert.Contains(t, refs, k, "the test sets only what the README's block names")
	}

	bin := filepath.Join(t.TempDir(), "mage-bin")
	require.NoError(t, hosttest.CompileMage("../..", bin))
	mage := func(timeout time.Duration, args ...string) (int, string) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = w.Dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "BLUESHIFT_REPORT=" + filepath.Join(w.Dir, "report.json")}
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		t.Logf("mage %s: exit %d\n%s", strings.Join(args, " "), code, out)
		return code, string(out)
	}

	code, out := mage(time.Minute, "config:check")
	require.Zero(t, code, out)
	assert.NotContains(t, out, w.Images.Registry.Password, "config:check shows the registry password")

	code, out = mage(15*time.Minute, "deploy:production", thebot.FirstVersion)
	require.Zero(t, code, out)
	assert.Contains(t, out, "checked at the proxy")
	get, post := clientFor(t, w.PublicURL())
	code, _, body := get("/")
	require.Equal(t, 200, code)
	require.Contains(t, body, "version "+thebot.FirstVersion)
	payload := fmt.Sprintf("uploaded before %s at %d", thebot.SecondVersion, time.Now().UnixNano())
	code, up := post("/api/v1/upload/?name=before.txt", payload)
	require.Equal(t, 201, code, up)

	// v1.0.1 exists only in the registry, as on a server: blueshift pulls it
	// with deploy.yml's credentials.
	rmi, err := exec.Command("docker", "rmi", w.Images.Backend[thebot.SecondVersion], w.Images.Frontend[thebot.SecondVersion]).CombinedOutput()
	require.NoError(t, err, "%s", rmi)

	l := startLoad(t, w.PublicURL(), scenarioLoad)
	code, out = mage(15*time.Minute, "deploy:production", thebot.SecondVersion)
	for path, s := range l.stop() {
		assert.Zero(t, s.Failed, "requests to %s failed during the deployment", path)
	}
	require.Zero(t, code, out)
	assert.Contains(t, out, "public smoke")

	code, _, body = get("/")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "version "+thebot.SecondVersion)
	code, _, _ = get("/static/core/notes.css")
	assert.Equal(t, 200, code, "v1.0.1's new static file")
	code, _, body = get("/api/system/readiness/")
	assert.Equal(t, 200, code, "v1.0.1's migration applied: %s", body)
	code, _, body = get(up["url"].(string))
	assert.Equal(t, 200, code)
	assert.Equal(t, payload, body, "media uploaded before the deployment")
	assert.Equal(t, thebot.SecondVersion, runTask(t, get, post)["version"], "the new colour's worker runs tasks")
}
