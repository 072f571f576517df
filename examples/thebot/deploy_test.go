package thebot_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// TestThebotDeploysWithBlueshiftWithTodaysWorkarounds deploys the seed's
// application with blueshift's engine as it is today (deploy.NewFromFile
// and the production pipeline, as deploy/e2e_test.go does), with the
// README-shaped deploy.yml plus thebot.AllWorkarounds: v1.0.0, an upload,
// then v1.0.1 (expand migration, new static file, changed frontend) under
// 150 req/s on / and 20 req/s on /api/health/ through the host nginx. Not
// one request may fail; afterwards / is the new frontend, the new colour's
// worker runs tasks, the migration is applied and the upload is still
// served, and v1.0.1 was pulled from the registry with deploy.yml's
// credentials (it is removed from the engine first). Without the workarounds the first deployment rolls back (see
// thebot.Workarounds for each failure); the changes of issue 12 are to make
// them unnecessary, and this test is where to drop them one by one.
func TestThebotDeploysWithBlueshiftWithTodaysWorkarounds(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	o := testOptions(t)
	o.Images = sharedImages(t)
	cleanupStack(t, o, o.App, o.App+"-blue", o.App+"-green")
	w, err := thebot.Open(o)
	require.NoError(t, err)
	w.Images = o.Images
	require.NoError(t, w.WriteFiles(w.Images))
	require.NoError(t, w.StartProxy(ctx))
	cfg, err := w.WriteDeployConfig(filepath.Join(w.Dir, "srv"), "5s", thebot.AllWorkarounds)
	require.NoError(t, err)

	getenv := func(k string) string {
		switch k {
		case thebot.RegistryPasswordEnv:
			return w.Images.Registry.Password
		case "USER":
			return "thebot-e2e"
		}
		return ""
	}
	deployVersion := func(v string) (*deploy.Deployment, error) {
		eng, err := deploy.NewFromFile(ctx, cfg, thebot.DefaultEnvironment, deploy.Options{Getenv: getenv})
		require.NoError(t, err)
		defer eng.Close()
		d := eng.NewDeployment(version.MustParse(v))
		d.Observe = func(e deploy.Event) {
			if e.Kind == deploy.EventPhaseFinished || e.Kind == deploy.EventUndoFinished || e.Kind == deploy.EventWarning {
				t.Logf("%s %s %s %s %v %s", time.Now().Format("15:04:05.000"), e.Kind, e.Phase, e.Duration.Round(time.Millisecond), e.Err, e.Message)
			}
		}
		return d, eng.Pipeline().Run(ctx, d)
	}

	_, err = deployVersion(thebot.FirstVersion)
	require.NoError(t, err)
	get, post := clientFor(t, w.PublicURL())
	code, _, body := get("/")
	require.Equal(t, 200, code)
	require.Contains(t, body, "version "+thebot.FirstVersion)
	payload := fmt.Sprintf("uploaded before %s at %d", thebot.SecondVersion, time.Now().UnixNano())
	code, up := post("/api/v1/upload/?name=before.txt", payload)
	require.Equal(t, 201, code, up)

	// v1.0.1 exists only in the registry, as on a server: blueshift pulls it
	// with deploy.yml's credentials.
	out, err := exec.Command("docker", "rmi", w.Images.Backend[thebot.SecondVersion], w.Images.Frontend[thebot.SecondVersion]).CombinedOutput()
	require.NoError(t, err, "%s", out)

	l := startLoad(t, w.PublicURL(), scenarioLoad)
	_, err = deployVersion(thebot.SecondVersion)
	for path, s := range l.stop() {
		assert.Zero(t, s.Failed, "requests to %s failed during the deployment", path)
	}
	require.NoError(t, err)

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
