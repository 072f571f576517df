package deploy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// fakeApp is an app deployed to a hosttest.Fake: the engine's files and
// scripts are real (under the fake's directory), Docker, Compose and nginx
// are the fake's model. Each phase test runs in well under a second.
type fakeApp struct {
	fake     *hosttest.Fake
	cfgFile  string
	appPath  string
	upstream string
	env      map[string]string
}

// Ports of the fake app's colours: the fake routes them to its model's
// containers, nothing listens on them.
const fakeBlue, fakeGreen = 47801, 47802

const fakeCompose = `services:
  web:
    image: example.test/shop:latest
    ports: ["8000:8000"]
    volumes: [media:/media]
volumes:
  media: {}
`

const fakeDeploy = `app: shop
environments:
  production:
    host: {address: local}
    path: %[1]s
    services: {stateless: [web]}
    ports:
      web: {container: 8000, blue: %[2]d, green: %[3]d}
    proxy:
      kind: nginx
      nginx: {upstream_file: %[4]s}
    hooks:
      migrate: [/app, migrate]
    tests:
      command: [sh, -c, "echo 'ok  shop 0.01s'"]
    health:
      backend: {url: /health, service: web, attempts: 3, interval: 10ms, timeout: 2s, attempt_timeout: 500ms}
    smoke:
      endpoints: [{path: /health}, {path: /}]
    monitor: {window: 60ms, interval: 20ms, max_errors: 0}
    backup:
      enabled: true
      media: {volume: media}
    timeouts: {drain: 10ms}
`

// fakeVersions are the versions whose images the fake's engine has.
var fakeVersions = []string{"v1.0.0", "v1.0.1", "v1.0.2"}

// newFakeApp writes the app's deploy.yml and compose file; the images of
// fakeVersions are on the fake's engine. edit, when set, changes the
// deploy.yml's text before it is written.
func newFakeApp(t *testing.T, edit func(string) string) *fakeApp {
	t.Helper()
	f := hosttest.NewFake(t)
	a := &fakeApp{fake: f, appPath: filepath.Join(f.Dir(), "srv", "shop"), upstream: filepath.Join(f.Dir(), "nginx", "shop.conf"),
		env: map[string]string{"USER": "unit"}}
	dir := t.TempDir()
	a.cfgFile = filepath.Join(dir, "deploy.yml")
	cfg := fmt.Sprintf(fakeDeploy, a.appPath, fakeBlue, fakeGreen, a.upstream)
	if edit != nil {
		cfg = edit(cfg)
	}
	require.NoError(t, os.WriteFile(a.cfgFile, []byte(cfg), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(fakeCompose), 0o644))
	require.NoError(t, os.MkdirAll(a.appPath, 0o755))
	f.Model.NginxIncludes(a.upstream)
	for _, v := range fakeVersions {
		f.Model.AddImage("example.test/shop:" + v)
	}
	return a
}

// engine opens the app's engine on the fake, as a run of the tool would.
func (a *fakeApp) engine(t *testing.T) *deploy.Engine {
	t.Helper()
	eng, err := deploy.NewFromFile(context.Background(), a.cfgFile, "production", deploy.Options{
		Host: a.fake, Docker: a.fake.Engine(), Getenv: func(k string) string { return a.env[k] }})
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	return eng
}

// deployOK runs the whole deployment pipeline of v and requires success.
func (a *fakeApp) deployOK(t *testing.T, v string) *deploy.Deployment {
	t.Helper()
	eng := a.engine(t)
	d := eng.NewDeployment(version.MustParse(v))
	require.NoError(t, eng.Pipeline().Run(context.Background(), d), "deploy %s", v)
	return d
}

// state reads state.json as the next run would.
func (a *fakeApp) state(t *testing.T) state.State {
	t.Helper()
	st, err := state.New(a.fake, a.appPath).Load(context.Background())
	require.NoError(t, err)
	return st
}

// history reads history.jsonl.
func (a *fakeApp) history(t *testing.T) []state.Entry {
	t.Helper()
	h, err := state.New(a.fake, a.appPath).History(context.Background(), 0)
	require.NoError(t, err)
	return h
}

// running lists the model's containers of project that run.
func (a *fakeApp) running(project string) []string {
	var out []string
	for _, c := range a.fake.Model.Containers(project) {
		if c.Running() {
			out = append(out, c.Name)
		}
	}
	return out
}

// phaseRun runs one phase of a pipeline by name, the way Pipeline.Run runs
// it (its remote commands counted, its undo on failure), after the phases
// before it in the same pipeline (not the final ones) have set d up. At
// cleanup the pipeline's unlock phase releases the lock the setup took.
type phaseRun struct {
	t        *testing.T
	p        *deploy.Pipeline
	d        *deploy.Deployment
	unlocked bool
}

// newPhaseRun prepares running p's phases against d; cleanup runs p's
// unlock phase, so a lock the phases took is released.
func newPhaseRun(t *testing.T, p *deploy.Pipeline, d *deploy.Deployment) *phaseRun {
	r := &phaseRun{t: t, p: p, d: d}
	t.Cleanup(r.unlock)
	return r
}

// unlock runs the pipeline's unlock phase, once: the lock is free again.
func (r *phaseRun) unlock() {
	if !r.unlocked {
		r.unlocked = true
		_ = r.sub(r.phase(deploy.PhaseUnlock)).Run(context.Background(), r.d)
	}
}

// upTo runs the non-final phases before name, requiring each to succeed.
func (r *phaseRun) upTo(name string) {
	r.t.Helper()
	var before []deploy.Phase
	for _, ph := range r.p.Phases() {
		if ph.Name() == name {
			break
		}
		if f, ok := ph.(deploy.Finalizer); ok && f.Always() {
			continue
		}
		before = append(before, ph)
	}
	require.NoError(r.t, r.sub(before...).Run(context.Background(), r.d), "phases before %s", name)
}

// phase returns the pipeline's phase called name.
func (r *phaseRun) phase(name string) deploy.Phase {
	r.t.Helper()
	for _, ph := range r.p.Phases() {
		if ph.Name() == name {
			return ph
		}
	}
	r.t.Fatalf("no phase %s in %v", name, r.p.Names())
	return nil
}

// run runs the phases before name, then name alone; it returns name's
// error and its report line.
func (r *phaseRun) run(name string) (error, deploy.PhaseResult) {
	r.t.Helper()
	r.upTo(name)
	return r.only(name)
}

// only runs phase name alone (the phases before it already ran).
func (r *phaseRun) only(name string) (error, deploy.PhaseResult) {
	r.t.Helper()
	n := len(r.d.Report.Phases)
	err := r.sub(r.phase(name)).Run(context.Background(), r.d)
	var res deploy.PhaseResult
	for _, p := range r.d.Report.Phases[n:] {
		if p.Name == name && !p.Undo {
			res = p
		}
	}
	return err, res
}

// unitPhase runs phase name of a deployment of v on a; the phases before
// it in the standard pipeline run first.
func (a *fakeApp) unitPhase(t *testing.T, v, name string) (*deploy.Deployment, error, deploy.PhaseResult) {
	t.Helper()
	eng := a.engine(t)
	d := eng.NewDeployment(version.MustParse(v))
	r := newPhaseRun(t, eng.Pipeline(), d)
	err, res := r.run(name)
	return d, err, res
}

// lockFile is the lock's file on the host, whose presence means "held".
func (a *fakeApp) lockHeld(t *testing.T) bool {
	t.Helper()
	l, err := state.New(a.fake, a.appPath).ReadLock(context.Background())
	require.NoError(t, err)
	return l != nil
}

var _ container.Engine = (*hosttest.FakeEngine)(nil)

// commandsWith lists the model's commands holding all of words.
func (a *fakeApp) commandsWith(words ...string) []string {
	var out []string
	for _, c := range a.fake.Model.Commands() {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(" "+strings.Join(c, " ")+" ", " "+w+" ")
		}
		if ok {
			out = append(out, strings.Join(c, " "))
		}
	}
	return out
}

// sub is a pipeline of phases taken from r's pipeline, with its
// BeforePhase hook (the engine's in-flight marker), as Pipeline.Run would
// run them.
func (r *phaseRun) sub(phases ...deploy.Phase) *deploy.Pipeline {
	p := deploy.NewPipeline(phases...)
	p.BeforePhase = r.p.BeforePhase
	return p
}
