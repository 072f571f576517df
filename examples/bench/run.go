package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Scenario names, as they appear in the table.
const (
	ScenarioDeploy   = "blueshift: full deployment"
	ScenarioManual   = "blueshift: manual rollback"
	ScenarioWarm     = "blueshift: rollback to a warm standby"
	ScenarioAuto     = "blueshift: failure after switch, automatic rollback"
	ScenarioMonitor  = "blueshift: app failing after switch, monitor rolls back"
	ScenarioSeed     = "seed: compose stop, then up on the same port"
	healthPath       = "/api/health/"
	injectedPhase    = "bench-fail-after-switch"
	streakLimit      = 60 * time.Second
	seedSettleAfter  = 500 * time.Millisecond
	injectedFailWait = 500 * time.Millisecond
	// monitorScenarioWindow is the monitor window of the FAIL_AFTER
	// deployment.
	monitorScenarioWindow = 60 * time.Second
	// StandbyWindow is the standby of the deployments before the
	// warm-standby rollbacks (long enough for the rollback, short enough
	// for the host's job to tidy up soon after the bench).
	StandbyWindow = 2 * time.Minute
)

// ErrInjected is the failure the bench injects after the switch.
var ErrInjected = errors.New("failure injected by the bench after the switch")

// Run measures blueshift on this machine (see the package doc) and returns
// the results. A part that fails is recorded in Results.Problems and the
// others still run; the error is non-nil when the bench could not start
// (no Docker Engine, compose or nginx) or when any part failed.
func Run(ctx context.Context, o Options) (*Results, error) {
	o = o.withDefaults()
	res := &Results{Started: time.Now().UTC(), Settings: Settings{Runs: o.Runs, Rate: o.Rate, DBMB: max(o.DBMB, 0), Monitor: o.Monitor, Drain: o.Drain}}
	if o.runs(ScenariosLocal) || o.runs(ScenariosSSH) {
		r, err := newRig(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("bench setup: %w", err)
		}
		defer r.close()
		res.Machine = r.machine(ctx)
		b := &bencher{ctx: ctx, r: r, o: o, res: res}
		b.part("first deployment", b.first)
		if o.runs(ScenariosLocal) {
			b.part("deployments", b.deployments)
			b.part("manual rollbacks", b.manual)
			b.part("warm-standby rollbacks", b.warm)
			b.part("automatic rollbacks", b.auto)
			b.part("monitor rollback", b.monitor)
			b.part("seed's method", b.seed)
		}
		if o.runs(ScenariosSSH) {
			if !o.runs(ScenariosLocal) {
				// The rollback needs a previous release.
				b.part("second deployment", b.second)
			}
			b.part("ssh", b.sshScenario)
		}
	} else {
		res.Machine = basicMachine()
	}
	if o.runs(ScenariosThebot) {
		o.progress("thebot")
		tr, err := BenchThebot(ctx, o)
		res.Thebot = tr
		if err != nil {
			res.Problems = append(res.Problems, "thebot: "+err.Error())
		}
	}
	if o.DBMB > 0 && o.runs(ScenariosBackup) {
		o.progress("backup")
		dir, err := os.MkdirTemp(o.Dir, "blueshift-bench-backup-")
		if err == nil {
			var bk *BackupResult
			bk, err = BenchBackup(ctx, o.PostgresURL, o.DBMB, o.BackupRuns, dir, o.progress)
			res.Backup = bk
			if bk != nil {
				res.Machine.Postgres = bk.server
			}
		}
		if err != nil {
			res.Problems = append(res.Problems, "backup: "+err.Error())
		}
	}
	res.Finished = time.Now().UTC()
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("bench: %d part(s) failed: %s", len(res.Problems), strings.Join(res.Problems, "; "))
	}
	return res, nil
}

type bencher struct {
	ctx    context.Context
	r      *rig
	o      Options
	res    *Results
	failed bool // the first deployment failed: the blueshift parts cannot run
	// readyAfter is how long after its start a new colour is switched to
	// (median), for FAIL_AFTER.
	readyAfter time.Duration
}

func (b *bencher) part(name string, fn func(ctx context.Context) error) {
	if b.failed && name != "seed's method" {
		return
	}
	b.o.progress("%s", name)
	if err := fn(b.ctx); err != nil {
		b.res.Problems = append(b.res.Problems, name+": "+err.Error())
		if name == "first deployment" {
			b.failed = true
		}
	}
}

func (b *bencher) first(ctx context.Context) error {
	d, err := b.r.deploy(ctx, Versions[0], nil, nil)
	if err != nil {
		return fmt.Errorf("deploy %s: %w%s", Versions[0], err, logsOf(d))
	}
	return nil
}

func (b *bencher) second(ctx context.Context) error {
	d, err := b.r.deploy(ctx, Versions[1], nil, nil)
	if err != nil {
		return fmt.Errorf("deploy %s: %w%s", Versions[1], err, logsOf(d))
	}
	return nil
}

func outcome(d *deploy.Deployment) deploy.Outcome {
	if d == nil {
		return "not started"
	}
	return d.Outcome
}

func logsOf(d *deploy.Deployment) string {
	if d == nil || d.Logs == "" {
		return ""
	}
	return " (app logs: " + strings.ReplaceAll(d.Logs, "\n", " | ") + ")"
}

// other is the version that is not v.
func other(v string) string {
	if v == Versions[0] {
		return Versions[1]
	}
	return Versions[0]
}

func (b *bencher) live(ctx context.Context) (current, previous string, err error) {
	eng, err := b.r.engine(ctx)
	if err != nil {
		return "", "", err
	}
	defer eng.Close()
	st, err := eng.Store.Load(ctx)
	if err != nil {
		return "", "", err
	}
	if st.Current == nil {
		return "", "", errors.New("nothing is live")
	}
	if st.Previous != nil {
		previous = st.Previous.Version
	}
	return st.Current.Version, previous, nil
}

// deployments: Runs full deployments under load, alternating versions.
func (b *bencher) deployments(ctx context.Context) error {
	var runs [][]PhaseTime
	var totals, health []time.Duration
	var cmds []int
	row, err := underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioDeploy, b.o.Runs, func(ctx context.Context, i int) error {
		cur, _, err := b.live(ctx)
		if err != nil {
			return err
		}
		d, err := b.r.deploy(ctx, other(cur), nil, nil)
		if err != nil {
			return fmt.Errorf("deploy %s: %w%s", other(cur), err, logsOf(d))
		}
		var pts []PhaseTime
		for _, p := range d.Report.Phases {
			if !p.Undo {
				pts = append(pts, PhaseTime{Name: p.Name, Duration: p.Duration})
			}
			if p.Name == deploy.PhaseHealth {
				health = append(health, Readiness(p))
			}
		}
		runs = append(runs, pts)
		totals = append(totals, d.Report.Finished.Sub(d.Report.Started))
		_, n := phaseCommands(d)
		cmds = append(cmds, n)
		return nil
	})
	b.res.Load = append(b.res.Load, row)
	b.res.Phases = PhaseMedians(runs)
	waits := b.o.Drain + b.o.Monitor
	bd := Breakdown{Total: Median(totals), Readiness: Median(health), Waits: waits, Commands: medianInt(cmds)}
	bd.Overhead = Overhead(bd.Total, bd.Pull, bd.Readiness, bd.Waits)
	b.res.Deploy = bd
	for _, p := range b.res.Phases {
		switch p.Name {
		case deploy.PhaseStart, deploy.PhaseMigrate, deploy.PhaseHealth, deploy.PhaseSmoke, deploy.PhaseSwitch:
			b.readyAfter += p.Median
		}
	}
	return err
}

// watched runs fn while polling which version answers through the proxy;
// unless fn fails, it then waits until want answers every request and
// returns when that began, with every sample taken.
func (b *bencher) watched(ctx context.Context, want string, fn func() error) (time.Time, []Sample, error) {
	p := startPoller(ctx, b.r.publicURL)
	if err := fn(); err != nil {
		p.halt()
		return time.Time{}, nil, err
	}
	at, ok := p.waitStreak(want, streakLimit)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok {
		return time.Time{}, p.samples, fmt.Errorf("%s did not answer %d requests in a row through the proxy within %s", want, streakK, streakLimit)
	}
	return at, p.samples, nil
}

// manual: Runs manual rollbacks under load; each returns to the previous
// release, so they alternate.
func (b *bencher) manual(ctx context.Context) error {
	var m rollbackSamples
	row, err := underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioManual, b.o.Runs, func(ctx context.Context, i int) error {
		_, prev, err := b.live(ctx)
		if err != nil {
			return err
		}
		return b.rollback(ctx, prev, &m)
	})
	b.res.Load = append(b.res.Load, row)
	rb := &b.res.Rollback
	rb.ManualFirstAnswer, rb.ManualCommands = Median(m.firstOld), medianInt(m.cmds)
	rb.Manual, rb.ManualRuns, rb.ManualPipeline = Median(m.toOld), m.toOld, Median(m.pipeline)
	return err
}

// warm: Runs, under load, deployments with standby on (StandbyWindow),
// each followed by a rollback to the standby it left, timed as manual's.
func (b *bencher) warm(ctx context.Context) error {
	var m rollbackSamples
	row, err := underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioWarm, b.o.Runs, func(ctx context.Context, i int) error {
		cur, _, err := b.live(ctx)
		if err != nil {
			return err
		}
		d, err := b.r.deploy(ctx, other(cur), withStandby, nil)
		if err != nil {
			return fmt.Errorf("deploy %s with standby: %w%s", other(cur), err, logsOf(d))
		}
		return b.rollback(ctx, cur, &m)
	})
	b.res.Load = append(b.res.Load, row)
	rb := &b.res.Rollback
	rb.WarmFirstAnswer, rb.WarmCommands = Median(m.firstOld), medianInt(m.cmds)
	rb.Warm, rb.WarmRuns, rb.WarmPipeline = Median(m.toOld), m.toOld, Median(m.pipeline)
	return err
}

// withStandby turns the environment's standby on (StandbyWindow).
func withStandby(e *deploy.Engine, _ *deploy.Pipeline) error {
	e.Env.Standby = StandbyWindow
	return nil
}

// rollbackSamples are the figures of rollback runs.
type rollbackSamples struct {
	toOld, pipeline, firstOld []time.Duration
	cmds                      []int
}

// rollback runs a manual rollback to prev and adds its figures to m.
func (b *bencher) rollback(ctx context.Context, prev string, m *rollbackSamples) error {
	eng, err := b.r.engine(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	start := time.Now()
	at, samples, err := b.watched(ctx, prev, func() error {
		d := eng.NewRollback()
		d.Reason = "blueshift bench"
		err := eng.RollbackPipeline("").Run(ctx, d)
		m.pipeline = append(m.pipeline, time.Since(start))
		if err != nil {
			return fmt.Errorf("rollback to %s: %w%s", prev, err, logsOf(d))
		}
		_, n := phaseCommands(d)
		m.cmds = append(m.cmds, n)
		return nil
	})
	if err != nil {
		return err
	}
	m.toOld = append(m.toOld, at.Sub(start))
	if first, ok := FirstAnswer(samples, prev, start); ok {
		m.firstOld = append(m.firstOld, first.Sub(start))
	}
	return nil
}

// auto: Runs deployments that fail right after the switch (a phase
// inserted after it), so the pipeline switches back and removes the new
// colour.
func (b *bencher) auto(ctx context.Context) error {
	var done, toOld []time.Duration
	row, err := underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioAuto, b.o.Runs, func(ctx context.Context, i int) error {
		cur, _, err := b.live(ctx)
		if err != nil {
			return err
		}
		var failedAt, lastUndo time.Time
		at, _, err := b.watched(ctx, cur, func() error {
			d, err := b.r.deploy(ctx, other(cur), func(_ *deploy.Engine, pl *deploy.Pipeline) error {
				return pl.InsertAfter(deploy.PhaseSwitch, deploy.NewPhase(injectedPhase, func(ctx context.Context, d *deploy.Deployment) error {
					time.Sleep(injectedFailWait) // the new colour serves meanwhile
					failedAt = time.Now()
					return ErrInjected
				}))
			}, func(e deploy.Event) {
				if e.Kind == deploy.EventUndoFinished {
					lastUndo = e.Time
				}
			})
			if d == nil || !errors.Is(err, ErrInjected) || d.Outcome != deploy.OutcomeRolledBack {
				return fmt.Errorf("deploy %s with a failure after the switch: want the injected failure and outcome %s, got %v (%s)%s",
					other(cur), deploy.OutcomeRolledBack, err, outcome(d), logsOf(d))
			}
			return nil
		})
		if err != nil {
			return err
		}
		done = append(done, lastUndo.Sub(failedAt))
		toOld = append(toOld, at.Sub(failedAt))
		return nil
	})
	b.res.Load = append(b.res.Load, row)
	b.res.Rollback.Auto, b.res.Rollback.AutoRuns = Median(done), done
	b.res.Rollback.AutoToOld = Median(toOld)
	return err
}

// monitor: one deployment whose app starts failing shortly after the
// switch (FAIL_AFTER, counted from the app's start): the monitor must trip
// and roll back. Users see the app's errors until it does. The monitor
// window is widened for this deployment so that a slow machine cannot let
// the window end before the app fails; the monitor fails as soon as the
// error budget is spent, so the window's length costs nothing.
func (b *bencher) monitor(ctx context.Context) error {
	failAfter := (b.readyAfter + 2*time.Second).Round(100 * time.Millisecond)
	if err := b.r.setEnv("FAIL_AFTER=" + failAfter.String()); err != nil {
		return err
	}
	defer b.r.setEnv()
	var toOld time.Duration
	row, err := underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioMonitor, 1, func(ctx context.Context, i int) error {
		cur, _, err := b.live(ctx)
		if err != nil {
			return err
		}
		at, samples, err := b.watched(ctx, cur, func() error {
			d, err := b.r.deploy(ctx, other(cur), func(eng *deploy.Engine, _ *deploy.Pipeline) error {
				eng.Env.Monitor.Window = monitorScenarioWindow
				return nil
			}, nil)
			var pe *deploy.PhaseError
			if !errors.As(err, &pe) || pe.Phase != deploy.PhaseVerify {
				return fmt.Errorf("deploy %s with FAIL_AFTER=%s: want the monitor (verify) to fail, got %v%s", other(cur), failAfter, err, logsOf(d))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if first, ok := FirstFailure(samples); ok {
			toOld = at.Sub(first)
		}
		return nil
	})
	b.res.Load = append(b.res.Load, row)
	b.res.Rollback.Monitor = toOld
	return err
}

// SeedSwitch are the commands of the seed's traffic switch: stop the
// running project, then bring it up again (the compose file now names the
// next image) on the same published port.
func SeedSwitch(cli compose.CLI) (stop, up host.Cmd) {
	return cli.Stop(0), cli.Up(0)
}

func (b *bencher) seed(ctx context.Context) error {
	r := b.r
	file := filepath.Join(r.dir, "seed-compose.yml")
	cli := r.composeCLI
	cli.ProjectName, cli.Files, cli.Dir = r.app+"-seed", []string{file}, r.dir
	write := func(v string) error {
		return os.WriteFile(file, []byte(fmt.Sprintf(seedComposeFile, r.repo+":"+v, r.seedPort)), 0o644)
	}
	local := host.NewLocal()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	waitFor := func(ctx context.Context, v string) error {
		deadline := time.Now().Add(streakLimit)
		for time.Now().Before(deadline) {
			if got, ok := getVersion(ctx, c, r.seedURL); ok && got == v {
				return nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		return fmt.Errorf("seed: %s did not answer within %s", v, streakLimit)
	}
	if err := write(Versions[0]); err != nil {
		return err
	}
	if err := local.Run(ctx, cli.Up(0)); err != nil {
		return fmt.Errorf("seed: start %s: %w", Versions[0], err)
	}
	if err := waitFor(ctx, Versions[0]); err != nil {
		return err
	}
	cur := Versions[0]
	row, err := underLoad(ctx, r.seedURL+healthPath, b.o.Rate, ScenarioSeed, b.o.Runs, func(ctx context.Context, i int) error {
		next := other(cur)
		stop, up := SeedSwitch(cli)
		if err := local.Run(ctx, stop); err != nil {
			return fmt.Errorf("seed: stop: %w", err)
		}
		if err := write(next); err != nil {
			return err
		}
		if err := local.Run(ctx, up); err != nil {
			return fmt.Errorf("seed: up %s: %w", next, err)
		}
		if err := waitFor(ctx, next); err != nil {
			return err
		}
		cur = next
		time.Sleep(seedSettleAfter)
		return nil
	})
	b.res.Load = append(b.res.Load, row)
	return err
}

// basicMachine is what is known without Docker: cores, memory, kernel, Go.
func basicMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryMB = memTotalMB(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// machine describes this machine; what cannot be read is left empty.
func (r *rig) machine(ctx context.Context) Machine {
	m := basicMachine()
	m.Compose = "compose " + r.composeVersion
	m.Docker = r.dockerVersion
	var out strings.Builder
	if err := host.NewLocal().Run(ctx, host.Cmd{Argv: []string{NginxBinary, "-v"}, Stderr: &out}); err == nil {
		m.Proxy = strings.TrimPrefix(strings.TrimSpace(out.String()), "nginx version: ")
	}
	return m
}

// memTotalMB reads MemTotal (kB) from /proc/meminfo's text, in MiB.
func memTotalMB(meminfo string) int64 {
	for _, line := range strings.Split(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	return 0
}
