package deploy

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/backup"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/health"
	"github.com/blueshift-deploy/blueshift/notify"
)

// This file holds the small exported operations the Mage frontend's
// day-to-day targets call (compose:render, health, smoke, backup:*,
// notify:test), so each target stays a few lines.

// ErrNothingLive is returned by the checks of the live colour when nothing
// has been deployed yet.
var ErrNothingLive = errors.New("nothing is live yet (deploy first)")

// Render renders version v into colour c exactly as a deployment would,
// without changing the host: the colour's compose file and the shared
// project's, for printing. Values interpolated from the host's env file are
// shown as ${NAME} (compose.RenderedProject.MaskedYAML); the files a
// deployment writes hold the values.
func (e *Engine) Render(ctx context.Context, c version.Colour, v version.Version) (colour, shared []byte, err error) {
	if !c.Valid() {
		return nil, nil, fmt.Errorf("render: colour %q: %w", c, version.ErrInvalidColour)
	}
	id := version.DeploymentID(e.Env.Name, v, time.Now().UTC())
	r, err := e.render(ctx, c, v, id)
	if err != nil {
		return nil, nil, err
	}
	if colour, err = r.Colour.MaskedYAML(); err != nil {
		return nil, nil, fmt.Errorf("render %s: %w", c, err)
	}
	if shared, err = r.Shared.MaskedYAML(); err != nil {
		return nil, nil, fmt.Errorf("render shared project: %w", err)
	}
	return colour, shared, nil
}

// LiveColour is the colour serving traffic now: the proxy's view, else
// state's record; "" when nothing has been deployed.
func (e *Engine) LiveColour(ctx context.Context) (version.Colour, error) {
	st, err := e.Store.Load(ctx)
	if err != nil {
		return "", err
	}
	return e.liveColour(ctx, st)
}

// CheckLive checks the live colour once: its health checks on its own
// loopback ports, PostgreSQL and Redis when configured, and the backend
// health endpoint through the public URL when one is set. It returns every
// check's outcome and an error naming the failed ones.
func (e *Engine) CheckLive(ctx context.Context) (version.Colour, []Check, error) {
	live, err := e.LiveColour(ctx)
	if err != nil {
		return "", nil, err
	}
	if !live.Valid() {
		return "", nil, ErrNothingLive
	}
	probes, _, err := e.healthChecks(live)
	if err != nil {
		return live, nil, err
	}
	if e.Env.PublicURL != "" && !isAbsURL(e.Env.Health.Backend.URL) {
		u := strings.TrimRight(e.Env.PublicURL, "/") + e.Env.Health.Backend.URL
		probes = append(probes, httpProbe("public "+u, u, e.Env.Health.Backend, "", nil))
	}
	var checks []Check
	var failed []string
	for _, p := range probes {
		o := health.Observe(ctx, p)
		c := Check{Name: p.Name(), OK: o.Err == nil, Detail: o.Detail}
		if o.Err != nil {
			c.Detail = o.Err.Error()
			failed = append(failed, p.Name())
		}
		c.Detail += fmt.Sprintf(" (%s)", o.Latency.Round(time.Millisecond))
		checks = append(checks, c)
	}
	if len(failed) > 0 {
		return live, checks, fmt.Errorf("%s is not healthy: %s failed: %w", live, strings.Join(failed, ", "), health.ErrUnhealthy)
	}
	return live, checks, nil
}

// SmokeLive runs the smoke suite against the public URL, or the live
// colour's own port when no public URL is configured.
func (e *Engine) SmokeLive(ctx context.Context) (health.SmokeReport, error) {
	if len(e.Env.Smoke.Endpoints) == 0 {
		return health.SmokeReport{}, fmt.Errorf("environments.%s.smoke.endpoints: empty, nothing to request", e.Env.Name)
	}
	if e.Env.PublicURL != "" {
		s, err := e.smokeSuite("") // reached from here, like users reach it
		if err != nil {
			return health.SmokeReport{}, err
		}
		return s.Run(ctx)
	}
	live, err := e.LiveColour(ctx)
	if err != nil {
		return health.SmokeReport{}, err
	}
	if !live.Valid() {
		return health.SmokeReport{}, ErrNothingLive
	}
	s, err := e.smokeSuite(live)
	if err != nil {
		return health.SmokeReport{}, err
	}
	return s.Run(ctx)
}

// TestNotify sends one test event (a "started" event for version
// v0.0.0-notify-test whose reason says nothing is deployed) to every
// configured notifier and returns how each fared. It returns no results
// when no notifier is configured; their errors are masked by the
// environment's Redactor. GitHub records it as a deployment of
// $GITHUB_SHA (of the version's name, which fails, when that is unset) in
// the transient environment notify.TestEnvironment names, marked inactive
// at once: the environment's own deployment records are never touched.
func (e *Engine) TestNotify(ctx context.Context) ([]notify.Result, error) {
	disp, err := e.notifyDispatcher()
	if err != nil {
		return nil, err
	}
	if len(disp.Notifiers) == 0 {
		return nil, nil
	}
	v := version.MustParse("v0.0.0-notify-test")
	ev := notify.Event{
		Kind: notify.Started, Version: v.String(), Environment: e.Env.Name,
		DeploymentID: version.DeploymentID(e.Env.Name, v, time.Now().UTC()),
		Actor:        notify.ActorFromEnv(e.getenv), Reason: "notification test (notify:test): nothing is deployed",
		Ref: e.getenv("GITHUB_SHA"), PublicURL: e.Env.PublicURL, LogURL: notify.LogURLFromEnv(e.getenv),
		Time: time.Now().UTC(), Test: true,
	}
	results := disp.Send(ctx, ev)
	for i := range results {
		results[i].Err = RedactError(results[i].Err, e.redact) // printed by the frontend
	}
	return results, nil
}

// BackupsDir is the environment's backups directory on the host
// (backup.dir, relative to path).
func (e *Engine) BackupsDir() string {
	if path.IsAbs(e.Env.Backup.Dir) {
		return e.Env.Backup.Dir
	}
	return path.Join(e.Env.Path, e.Env.Backup.Dir)
}

// CreateBackup takes a backup of the environment as it runs now (named
// after the current release) and prunes old ones, keeping backup.keep;
// progress (nil: none) receives each step.
func (e *Engine) CreateBackup(ctx context.Context, progress func(backup.Event)) (backup.Result, []string, error) {
	plan, err := e.currentBackupPlan(ctx)
	if err != nil {
		return backup.Result{}, nil, err
	}
	plan.Progress = progress
	res, err := plan.Create(ctx)
	if err != nil {
		return res, nil, err
	}
	pruned, err := backup.Retention{Keep: e.Env.Backup.Keep, Protect: []string{res.ID}}.Prune(ctx, e.Host, plan.BackupsDir())
	if err != nil {
		return res, nil, fmt.Errorf("backup %s taken, but pruning old backups failed: %w", res.ID, err)
	}
	return res, pruned, nil
}

// currentBackupPlan is the backup plan of the live release.
func (e *Engine) currentBackupPlan(ctx context.Context) (*backup.Plan, error) {
	st, err := e.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	live, err := e.liveColour(ctx, st)
	if err != nil {
		return nil, err
	}
	v := "none"
	if st.Current != nil && st.Current.Version != "" {
		v = st.Current.Version
	}
	return e.backupPlan(ctx, v, st.Current, live)
}

// Restore puts backup id back (database, media, …) while holding the
// deploy lock, after the backup library's own safety backup. confirm must
// be true (a restore replaces live data): see backup.ConfirmedByEnv.
func (e *Engine) Restore(ctx context.Context, id string, confirm bool) (backup.RestoreResult, error) {
	if !confirm {
		return backup.RestoreResult{}, fmt.Errorf("restore %s: %w: it replaces live data; pass -confirm or set %s=%s",
			id, backup.ErrNotConfirmed, backup.ConfirmEnv, id)
	}
	var res backup.RestoreResult
	err := e.underLock(ctx, state.NewLock("restore", "", "", "restore "+id), func(ctx context.Context, held *state.Held) error {
		if _, err := e.reconcileHeld(ctx, held); err != nil {
			return err
		}
		plan, err := e.currentBackupPlan(ctx)
		if err != nil {
			return err
		}
		res, err = plan.Restore(ctx, backup.RestoreOptions{ID: id, Confirm: true})
		return err
	})
	return res, err
}
