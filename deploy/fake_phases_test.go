package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/traffic"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/notify"
)

// The unit tests of the standard phases: each runs one phase of the
// deployment (or rollback) pipeline on a hosttest.Fake, after the phases
// before it, and checks what it changed on the fake host (files, state,
// containers, the proxy), its error text when it fails, and its undo.

func TestPhaseLock(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	d, err, res := a.unitPhase(t, "v1.0.0", deploy.PhaseLock)
	require.NoError(t, err)
	assert.Equal(t, deploy.PhaseOK, res.Outcome)
	l, err := state.New(a.fake, a.appPath).ReadLock(context.Background())
	require.NoError(t, err)
	require.NotNil(t, l, "the lock is held on the host")
	assert.Equal(t, d.ID, l.DeploymentID)
	assert.Equal(t, state.KindDeploy, l.Kind)

	// A second run is refused while the first holds it, changing nothing.
	_, err, _ = a.unitPhase(t, "v1.0.1", deploy.PhaseLock)
	require.ErrorIs(t, err, state.ErrLocked)
	l2, _ := state.New(a.fake, a.appPath).ReadLock(context.Background())
	require.NotNil(t, l2)
	assert.Equal(t, d.ID, l2.DeploymentID, "the holder is unchanged")
}

func TestPhaseUnlock(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	eng := a.engine(t)
	d := eng.NewDeployment(version.MustParse("v1.0.0"))
	r := newPhaseRun(t, eng.Pipeline(), d)
	r.upTo(deploy.PhaseTest)
	require.True(t, a.lockHeld(t))
	require.NotNil(t, a.state(t).InFlight, "prepare recorded the run as in flight")
	err, _ := r.only(deploy.PhaseUnlock)
	require.NoError(t, err)
	assert.False(t, a.lockHeld(t), "the lock is released")
	assert.Nil(t, a.state(t).InFlight, "the run's in-flight record is cleared")
}

func TestPhasePrepare(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	d, err, _ := a.unitPhase(t, "v1.0.0", deploy.PhasePrepare)
	require.NoError(t, err)
	assert.Equal(t, version.Colour(""), d.Live, "first deployment: nothing live")
	assert.Equal(t, version.Blue, d.Next)
	st := a.state(t)
	require.NotNil(t, st.InFlight)
	assert.Equal(t, d.ID, st.InFlight.DeploymentID)
	assert.Equal(t, "blue", st.InFlight.To)
	assert.Equal(t, deploy.PhasePrepare, st.InFlight.Phase)

	b := newFakeApp(t, nil)
	b.deployOK(t, "v1.0.0")
	d, err, _ = b.unitPhase(t, "v1.0.1", deploy.PhasePrepare)
	require.NoError(t, err)
	assert.Equal(t, version.Blue, d.Live, "the proxy serves blue")
	assert.Equal(t, version.Green, d.Next)
	require.NotNil(t, d.Previous)
	assert.Equal(t, "v1.0.0", d.Previous.Version)
}

func TestPhasePreflight(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	d, err, _ := a.unitPhase(t, "v1.0.0", deploy.PhasePreflight)
	require.NoError(t, err)
	assert.Empty(t, a.fake.Model.Containers(""), "preflight starts nothing")
	assert.Equal(t, version.Blue, d.Next)

	// An image that is neither on the host nor in its registry, and an
	// nginx whose configuration is broken: both named, nothing started.
	b := newFakeApp(t, nil)
	b.fake.Model.Fail(1, "nginx: [emerg] unknown directive \"proxy_pas\" in /etc/nginx/sites-enabled/shop:12", "nginx", "-T")
	_, err, res := b.unitPhase(t, "v9.9.9", deploy.PhasePreflight)
	var pf *deploy.PreflightError
	require.ErrorAs(t, err, &pf)
	assert.Contains(t, err.Error(), "image web: example.test/shop:v9.9.9: not found on the host nor in its registry")
	assert.Contains(t, err.Error(), `unknown directive "proxy_pas"`)
	assert.ErrorIs(t, err, traffic.ErrConfigInvalid)
	assert.Equal(t, deploy.PhaseFailed, res.Outcome)
	assert.Empty(t, b.fake.Model.Containers(""))
}

func TestPhaseTest(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, func(cfg string) string {
		return strings.Replace(cfg, `echo 'ok  shop 0.01s'`, `echo '--- FAIL: TestCheckout'; exit 1`, 1)
	})
	_, err, _ := a.unitPhase(t, "v1.0.0", deploy.PhaseTest)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test suite failed")
	assert.Contains(t, err.Error(), "SKIP_TESTS=true", "the error says how to deploy in an emergency")
	assert.Empty(t, a.fake.Model.Containers(""), "nothing started")

	// SKIP_TESTS=true: the failing suite is not run.
	b := newFakeApp(t, func(cfg string) string {
		return strings.Replace(cfg, `echo 'ok  shop 0.01s'`, `echo '--- FAIL: TestCheckout'; exit 1`, 1)
	})
	b.env["SKIP_TESTS"] = "true"
	d, err, _ := b.unitPhase(t, "v1.0.0", deploy.PhaseTest)
	require.NoError(t, err)
	assert.True(t, d.TestsSkipped)
}

func TestPhaseBackup(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	media, ok := a.fake.Model.VolumePath("shop_media")
	require.True(t, ok, "the first deployment created the media volume")
	require.NoError(t, os.WriteFile(filepath.Join(media, "avatar.png"), []byte("png bytes"), 0o644))

	d, err, _ := a.unitPhase(t, "v1.0.1", deploy.PhaseBackup)
	require.NoError(t, err)
	require.NotEmpty(t, d.BackupID)
	dir := filepath.Join(a.engine(t).BackupsDir(), d.BackupID)
	out, err := exec.Command("tar", "-tzf", filepath.Join(dir, "media.tar.gz")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "avatar.png", "the media volume's files are in the backup")
	assert.FileExists(t, filepath.Join(dir, "manifest.json"))
	snap, err := os.ReadFile(filepath.Join(dir, "docker-state.json"))
	require.NoError(t, err)
	assert.Contains(t, string(snap), `"compose_project": "shop-blue"`, "the live colour's containers are in the snapshot")

	// The Docker daemon gone mid-backup fails it before anything changes.
	b := newFakeApp(t, nil)
	b.deployOK(t, "v1.0.0")
	b.fake.Model.Fail(1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "ps", "--no-trunc")
	_, err, _ = b.unitPhase(t, "v1.0.1", deploy.PhaseBackup)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pre-deployment backup into")
	assert.Contains(t, err.Error(), "Cannot connect to the Docker daemon")
	assert.Contains(t, err.Error(), "nothing was changed")
	assert.Empty(t, b.fake.Model.Containers("shop-green"))
}

func TestPhaseStart(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	d, err, _ := a.unitPhase(t, "v1.0.1", deploy.PhaseStart)
	require.NoError(t, err)
	green := a.fake.Model.Containers("shop-green")
	require.Len(t, green, 1)
	assert.True(t, green[0].Running())
	assert.Equal(t, "example.test/shop:v1.0.1", green[0].Image)
	assert.Equal(t, "green", green[0].Labels["blueshift.colour"])
	assert.Equal(t, "v1.0.1", green[0].Labels["blueshift.version"])
	assert.Equal(t, []string{"shop-blue-web-1"}, a.running("shop-blue"), "the live colour keeps running")
	assert.Equal(t, map[string]string{"web": "example.test/shop:v1.0.1"}, d.Release.Images)

	// compose up failing: the error names the colour and carries compose's words.
	b := newFakeApp(t, nil)
	b.deployOK(t, "v1.0.0")
	b.fake.Model.Fail(1, "Error response from daemon: driver failed programming external connectivity: port is already allocated", "shop-green", "up")
	_, err, _ = b.unitPhase(t, "v1.0.1", deploy.PhaseStart)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start green")
	assert.Contains(t, err.Error(), "port is already allocated")
	assert.Equal(t, []string{"shop-blue-web-1"}, b.running("shop-blue"))
}

// TestPhaseStartUndo: a failure after start removes the new colour and
// leaves the live one running.
func TestPhaseStartUndo(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	a.fake.Model.Fail(1, "migration 0042 failed", "exec", "migrate")
	eng := a.engine(t)
	d := eng.NewDeployment(version.MustParse("v1.0.1"))
	err := eng.Pipeline().Run(context.Background(), d)
	require.Error(t, err)
	assert.Equal(t, deploy.OutcomeRolledBack, d.Outcome)
	assert.Empty(t, a.fake.Model.Containers("shop-green"), "undo removed green")
	assert.Equal(t, []string{"shop-blue-web-1"}, a.running("shop-blue"))
	assert.Equal(t, "blue", a.fake.Model.ProxyLive())
}

func TestPhaseMigrate(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	var mu sync.Mutex
	var ranIn []string
	a.fake.Model.SetExec(func(c hosttest.Container, argv []string) (string, int) {
		mu.Lock()
		defer mu.Unlock()
		ranIn = append(ranIn, c.Name+": "+strings.Join(argv, " "))
		return "Applying 0001_initial... OK\n", 0
	})
	_, err, res := a.unitPhase(t, "v1.0.0", deploy.PhaseMigrate)
	require.NoError(t, err)
	assert.Equal(t, []string{"shop-blue-web-1: /app migrate"}, ranIn, "the migration runs in the next colour")
	assert.Equal(t, 1, res.RemoteCommands)

	b := newFakeApp(t, nil)
	b.fake.Model.Fail(1, "django.db.utils.ProgrammingError: relation \"orders\" does not exist", "exec", "migrate")
	_, err, _ = b.unitPhase(t, "v1.0.0", deploy.PhaseMigrate)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/app migrate in web (blue)")
	assert.Contains(t, err.Error(), "exit status 1")
	assert.Contains(t, err.Error(), `relation "orders" does not exist`)
}

func TestPhaseHealth(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	d, err, res := a.unitPhase(t, "v1.0.0", deploy.PhaseHealth)
	require.NoError(t, err)
	assert.Equal(t, 1, res.RemoteCommands, "the in-flight marker; probes are not commands")
	assert.Contains(t, factNames(d), "health web http://127.0.0.1:47801/health")
	assert.Equal(t, deploy.PhaseHealth, a.state(t).InFlight.Phase, "the marker records the phase")

	// A crash-looping release never answers: health fails naming the
	// colour. (With a migration, migrate would fail first: compose exec
	// finds no running container.)
	b := newFakeApp(t, func(cfg string) string {
		return strings.Replace(cfg, "      migrate: [/app, migrate]\n", "      migrate: []\n", 1)
	})
	b.fake.Model.CrashLoop("example.test/shop:v1.0.0")
	d, err, _ = b.unitPhase(t, "v1.0.0", deploy.PhaseHealth)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "blue is not healthy")
	assert.Contains(t, d.Logs, "panic: the app crashed on start", "the colour's logs are kept for the report")

	// An unhealthy answer.
	c := newFakeApp(t, nil)
	c.fake.Model.SetApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
	}))
	_, err, _ = c.unitPhase(t, "v1.0.0", deploy.PhaseHealth)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503")
}

func factNames(d *deploy.Deployment) []string {
	var out []string
	for _, f := range d.Report.Facts {
		out = append(out, f.Name)
	}
	return out
}

func TestPhaseSmoke(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	d, err, _ := a.unitPhase(t, "v1.0.0", deploy.PhaseSmoke)
	require.NoError(t, err)
	assert.Contains(t, factNames(d), "smoke")

	b := newFakeApp(t, nil)
	b.fake.Model.SetApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Error(w, "template error", http.StatusInternalServerError)
		}
	}))
	_, err, _ = b.unitPhase(t, "v1.0.0", deploy.PhaseSmoke)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "500")
}

func TestPhaseSwitch(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	d, err, _ := a.unitPhase(t, "v1.0.1", deploy.PhaseSwitch)
	require.NoError(t, err)
	assert.True(t, d.Switched)
	assert.Equal(t, "green", a.fake.Model.ProxyLive(), "nginx reloaded onto green")
	assert.Equal(t, "green", a.state(t).Live)
	data, err := os.ReadFile(a.upstream)
	require.NoError(t, err)
	assert.Contains(t, string(data), "# blueshift colour=green")

	// nginx -t failing: the previous upstream file is back, traffic stays.
	b := newFakeApp(t, nil)
	b.deployOK(t, "v1.0.0")
	before, err := os.ReadFile(b.upstream)
	require.NoError(t, err)
	b.fake.Model.Fail(1, "nginx: [emerg] host not found in upstream \"shop_production_web\"", "nginx", "-t")
	reloads := b.fake.Model.Reloads()
	_, err, _ = b.unitPhase(t, "v1.0.1", deploy.PhaseSwitch)
	require.ErrorIs(t, err, traffic.ErrConfigInvalid)
	assert.Contains(t, err.Error(), "host not found in upstream")
	after, err := os.ReadFile(b.upstream)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the previous upstream file is restored")
	assert.Equal(t, reloads, b.fake.Model.Reloads(), "nginx was not reloaded")
	assert.Equal(t, "blue", b.fake.Model.ProxyLive())
}

// TestPhaseSwitchUndo: a failure after the switch sends traffic back.
func TestPhaseSwitchUndo(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	eng := a.engine(t)
	p := eng.Pipeline()
	require.NoError(t, p.InsertAfter(deploy.PhaseSwitch, deploy.NewPhase("fail", func(context.Context, *deploy.Deployment) error {
		return errors.New("made to fail after the switch")
	})))
	d := eng.NewDeployment(version.MustParse("v1.0.1"))
	require.Error(t, p.Run(context.Background(), d))
	assert.Equal(t, deploy.OutcomeRolledBack, d.Outcome)
	assert.Equal(t, "blue", a.fake.Model.ProxyLive(), "traffic is back on blue")
	assert.Equal(t, "blue", a.state(t).Live)
	assert.Empty(t, a.fake.Model.Containers("shop-green"))
	assert.Equal(t, "v1.0.0", a.state(t).Current.Version)
}

func TestPhaseVerify(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	d, err, _ := a.unitPhase(t, "v1.0.0", deploy.PhaseVerify)
	require.NoError(t, err)
	assert.Contains(t, factNames(d), "monitor")

	// The new release starts failing once it serves: verify fails.
	b := newFakeApp(t, nil)
	var serving sync.Mutex
	failing := false
	b.fake.Model.SetApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serving.Lock()
		defer serving.Unlock()
		if failing {
			http.Error(w, "out of memory", http.StatusInternalServerError)
		}
	}))
	eng := b.engine(t)
	d = eng.NewDeployment(version.MustParse("v1.0.0"))
	r := newPhaseRun(t, eng.Pipeline(), d)
	r.upTo(deploy.PhaseVerify)
	serving.Lock()
	failing = true
	serving.Unlock()
	err, _ = r.only(deploy.PhaseVerify)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "500")
}

func TestPhaseRetire(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	eng := a.engine(t)
	d := eng.NewDeployment(version.MustParse("v1.0.1"))
	r := newPhaseRun(t, eng.Pipeline(), d)
	err, res := r.run(deploy.PhaseRetire)
	require.NoError(t, err)
	assert.Equal(t, 1, res.RemoteCommands, "compose stop alone: the container list said blue's file exists")
	blue := a.fake.Model.Containers("shop-blue")
	require.Len(t, blue, 1, "blue is kept for an instant rollback")
	assert.Equal(t, "exited", blue[0].State)
	assert.Equal(t, []string{"shop-green-web-1"}, a.running("shop-green"))

	// Its undo starts blue again.
	require.NoError(t, r.phase(deploy.PhaseRetire).(deploy.Undoer).Undo(context.Background(), d))
	assert.Equal(t, []string{"shop-blue-web-1"}, a.running("shop-blue"))
}

func TestPhaseRecord(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	d := a.deployOK(t, "v1.0.1")
	st := a.state(t)
	require.NotNil(t, st.Current)
	assert.Equal(t, "v1.0.1", st.Current.Version)
	assert.Equal(t, "green", st.Current.Colour)
	require.NotNil(t, st.Previous)
	assert.Equal(t, "v1.0.0", st.Previous.Version)
	assert.Nil(t, st.InFlight)
	h := a.history(t)
	require.Len(t, h, 2)
	last := h[len(h)-1]
	assert.Equal(t, d.ID, last.DeploymentID)
	assert.Equal(t, state.OutcomeSucceeded, last.Outcome)
	assert.Equal(t, "v1.0.0", last.FromVersion)
	assert.Contains(t, last.Phases, deploy.PhaseHealth)

	// A failed run records a failed entry and leaves state's release alone.
	a.fake.Model.Fail(1, "migration 0042 failed", "exec", "migrate")
	eng := a.engine(t)
	d = eng.NewDeployment(version.MustParse("v1.0.2"))
	require.Error(t, eng.Pipeline().Run(context.Background(), d))
	h = a.history(t)
	require.Len(t, h, 3)
	assert.Equal(t, state.OutcomeRolledBack, h[2].Outcome)
	assert.Equal(t, deploy.PhaseMigrate, h[2].Phase)
	assert.Equal(t, "v1.0.1", a.state(t).Current.Version)
}

func TestPhaseNotify(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []notify.WebhookPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.WebhookPayload
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	a := newFakeApp(t, func(cfg string) string {
		return cfg + "    notify:\n      webhook: {url: " + srv.URL + "/hook}\n"
	})
	d := a.deployOK(t, "v1.0.0")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2, "started (prepare) and succeeded (notify)")
	assert.Equal(t, notify.Succeeded.String(), got[1].Kind)
	assert.Equal(t, "v1.0.0", got[1].Version)
	assert.Equal(t, d.ID, got[1].DeploymentID)
}

// TestRollbackPipeline returns to the kept previous release and, when its
// health fails, undoes the rollback: the current release serves again.
func TestRollbackPipeline(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	a.deployOK(t, "v1.0.1")
	eng := a.engine(t)
	d := eng.NewRollback()
	require.NoError(t, eng.RollbackPipeline("").Run(context.Background(), d))
	assert.Equal(t, "blue", a.fake.Model.ProxyLive())
	assert.Equal(t, []string{"shop-blue-web-1"}, a.running("shop-blue"))
	assert.Empty(t, a.running("shop-green"), "green is stopped")
	assert.Len(t, a.fake.Model.Containers("shop-green"), 1, "and kept")
	st := a.state(t)
	assert.Equal(t, "v1.0.0", st.Current.Version)
	h := a.history(t)
	assert.Equal(t, state.KindRollback, h[len(h)-1].Kind)

	// Roll back again (to v1.0.1 on green), but nginx refuses the switch:
	// the undo stops green again and traffic never leaves blue. (A health
	// failure would do the same after ensureServing's fixed 30 s policy.)
	a.fake.Model.Fail(1, "nginx: [emerg] no \"events\" section in configuration", "nginx", "-t")
	eng = a.engine(t)
	d = eng.NewRollback()
	err := eng.RollbackPipeline("").Run(context.Background(), d)
	require.ErrorIs(t, err, traffic.ErrConfigInvalid)
	assert.Equal(t, deploy.PhaseSwitch, d.Failure.Phase)
	assert.Equal(t, deploy.OutcomeRolledBack, d.Outcome)
	assert.Equal(t, "blue", a.fake.Model.ProxyLive(), "traffic never left blue")
	assert.Empty(t, a.running("shop-green"), "undo stopped green again")
	assert.Len(t, a.fake.Model.Containers("shop-green"), 1, "and kept it")
	assert.Equal(t, "v1.0.0", a.state(t).Current.Version)
}

func TestPhaseRollbackPrepare(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	eng := a.engine(t)
	// One release only: nothing to return to, and nothing changes.
	r := newPhaseRun(t, eng.RollbackPipeline(""), eng.NewRollback())
	err, _ := r.run(deploy.PhaseRollbackPrepare)
	require.ErrorIs(t, err, deploy.ErrNoPrevious)
	assert.Contains(t, err.Error(), "state records only v1.0.0")
	assert.Nil(t, a.state(t).InFlight)
	r.unlock()

	a.deployOK(t, "v1.0.1")
	eng = a.engine(t)
	d := eng.NewRollback()
	err, _ = newPhaseRun(t, eng.RollbackPipeline(""), d).run(deploy.PhaseRollbackPrepare)
	require.NoError(t, err)
	assert.Equal(t, "v1.0.0", d.Version.String())
	assert.Equal(t, version.Green, d.Live)
	assert.Equal(t, version.Blue, d.Next)
	st := a.state(t)
	require.NotNil(t, st.InFlight)
	assert.Equal(t, state.KindRollback, st.InFlight.Kind)
	assert.Equal(t, "blue", st.InFlight.To)
}

func TestPhaseRollbackStart(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.deployOK(t, "v1.0.0")
	a.deployOK(t, "v1.0.1")
	kept := a.fake.Model.Containers("shop-blue")
	require.Len(t, kept, 1)
	require.Equal(t, "exited", kept[0].State)
	eng := a.engine(t)
	d := eng.NewRollback()
	r := newPhaseRun(t, eng.RollbackPipeline(""), d)
	err, res := r.run(deploy.PhaseRollbackStart)
	require.NoError(t, err)
	assert.Equal(t, 1, res.RemoteCommands, "compose start alone: the kept containers' labels name their file and version")
	blue := a.fake.Model.Containers("shop-blue")
	require.Len(t, blue, 1)
	assert.Equal(t, kept[0].ID, blue[0].ID, "the kept container is started, not recreated")
	assert.True(t, blue[0].Running())
	assert.Equal(t, []string{"shop-green-web-1"}, a.running("shop-green"), "the current colour still serves")

	// Its undo stops blue again, keeping it.
	require.NoError(t, r.phase(deploy.PhaseRollbackStart).(deploy.Undoer).Undo(context.Background(), d))
	assert.Empty(t, a.running("shop-blue"))
	assert.Len(t, a.fake.Model.Containers("shop-blue"), 1)
}
