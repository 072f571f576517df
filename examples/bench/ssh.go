package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// The SSH scenario's link: what a real server over a real network costs
// per command, fixed so runs compare.
const (
	// SSHLoginDelay is how long every SSH session's start takes on the
	// bench's sshd (a login shell reading slow start-up files).
	SSHLoginDelay = 100 * time.Millisecond
	// SSHLinkDelay is the latency of the link to it, each way.
	SSHLinkDelay = 50 * time.Millisecond
	// sessionSamples is how many `true` commands measure one command's cost.
	sessionSamples = 5
)

// Scenario names of the SSH scenario.
const (
	ScenarioSSHDeploy   = "blueshift over SSH: full deployment"
	ScenarioSSHRollback = "blueshift over SSH: manual rollback"
	ScenarioSSHWarm     = "blueshift over SSH: rollback to a warm standby"
)

// sshLink is the bench's real OpenSSH sshd on 127.0.0.1, slowed down by
// SSHLoginDelay per session and reached through a proxy adding
// SSHLinkDelay each way.
type sshLink struct {
	tb      *benchTB
	sshd    *hosttest.SSHD
	proxy   *hosttest.TCPProxy
	cfgFile string
}

// startSSHLink starts the sshd and the slow proxy, and writes a deploy.yml
// (next to the local one) whose environment reaches this machine through
// them.
func (r *rig) startSSHLink() (*sshLink, error) {
	l := &sshLink{tb: &benchTB{dir: r.dir}}
	err := l.tb.run(func() {
		l.sshd = hosttest.StartSSHD(l.tb, hosttest.SSHDOptions{ExtraConfig: hosttest.SlowLoginConfig(SSHLoginDelay)})
		l.proxy = hosttest.StartSlowTCPProxy(l.tb, l.sshd.Addr, SSHLinkDelay)
	})
	if err != nil {
		l.close()
		return nil, fmt.Errorf("bench sshd: %w", err)
	}
	key := filepath.Join(r.dir, "bench_ssh_key")
	if err := os.WriteFile(key, l.sshd.ClientKeyPEM, 0o600); err != nil {
		l.close()
		return nil, err
	}
	pinned := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(l.sshd.HostKeys[ssh.KeyAlgoED25519])))
	l.cfgFile = filepath.Join(r.dir, "deploy-ssh.yml")
	hostLine := fmt.Sprintf("{address: %q, user: %q, ssh_key_file: %q, host_key: %q}", l.proxy.Addr, l.sshd.User, key, pinned)
	if err := r.writeConfigTo(l.cfgFile, hostLine, r.publicURL, r.upstream, strings.Join(r.nginx.command, ", ")); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

func (l *sshLink) close() { l.tb.close() }

// sshEngine is an engine over the link and how many commands its host
// ran, all of them (Open's too, which no phase counts).
type sshEngine struct {
	*deploy.Engine
	h        host.Host
	commands atomic.Int64
}

// countedHost counts the commands run on a host.
type countedHost struct {
	host.Host
	n *atomic.Int64
}

// Run counts cmd and runs it.
func (c countedHost) Run(ctx context.Context, cmd host.Cmd) error {
	c.n.Add(1)
	return c.Host.Run(ctx, cmd)
}

// openSSH connects to the link as a user's command would and opens the
// environment over it; the caller closes it.
func (r *rig) openSSH(ctx context.Context, l *sshLink) (*sshEngine, error) {
	getenv := r.getenv
	cfg, err := deploy.Load(l.cfgFile, getenv)
	if err != nil {
		return nil, err
	}
	env, err := cfg.Env("production")
	if err != nil {
		return nil, err
	}
	h, err := env.Host.Connect(ctx, r.o.Logger)
	if err != nil {
		return nil, fmt.Errorf("connect over the bench's SSH link: %w", err)
	}
	s := &sshEngine{h: h}
	s.Engine, err = deploy.Open(ctx, cfg, "production", deploy.Options{Host: countedHost{Host: h, n: &s.commands}, Logger: r.o.Logger, Getenv: getenv})
	if err != nil {
		h.Close()
		return nil, err
	}
	return s, nil
}

func (s *sshEngine) close() {
	s.Engine.Close()
	s.h.Close()
}

// sessionCost is the median time of one `true` over the link.
func (r *rig) sessionCost(ctx context.Context, l *sshLink) (time.Duration, error) {
	s, err := r.openSSH(ctx, l)
	if err != nil {
		return 0, err
	}
	defer s.close()
	var ds []time.Duration
	for range sessionSamples {
		start := time.Now()
		if err := s.h.Run(ctx, host.Cmd{Argv: []string{"true"}}); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return Median(ds), nil
}

// phaseCommands are a run's phases with their remote commands, from the
// deployment's report.
func phaseCommands(d *deploy.Deployment) (out []PhaseCommands, total int) {
	for _, p := range d.Report.Phases {
		name := p.Name
		if p.Undo {
			name = "undo " + name
		}
		out = append(out, PhaseCommands{Name: name, Duration: p.Duration, Commands: p.RemoteCommands, CommandTime: p.RemoteTime})
		total += p.RemoteCommands
	}
	return out, total
}

// sshScenario deploys the other version and rolls it back over the link,
// Options.SSHRuns times each, under load through nginx.
func (b *bencher) sshScenario(ctx context.Context) error {
	l, err := b.r.startSSHLink()
	if err != nil {
		return err
	}
	defer l.close()
	res := &SSHResult{LoginDelay: SSHLoginDelay, LinkDelay: SSHLinkDelay, Runs: b.o.SSHRuns}
	b.res.SSH = res
	if res.SessionCost, err = b.r.sessionCost(ctx, l); err != nil {
		return err
	}

	var totals, connects, health, overheads []time.Duration
	var cmds, phaseCmds []int
	row, err := underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioSSHDeploy, b.o.SSHRuns, func(ctx context.Context, i int) error {
		cur, _, err := b.live(ctx)
		if err != nil {
			return err
		}
		next := other(cur)
		start := time.Now()
		s, err := b.r.openSSH(ctx, l)
		if err != nil {
			return err
		}
		defer s.close()
		connected := time.Now()
		d := s.NewDeployment(version.MustParse(next))
		d.Reason = "blueshift bench over SSH"
		err = s.Pipeline().Run(ctx, d)
		total := time.Since(start)
		if err != nil {
			return fmt.Errorf("deploy %s over SSH: %w%s", next, err, logsOf(d))
		}
		var ready time.Duration
		for _, p := range d.Report.Phases {
			if p.Name == deploy.PhaseHealth && !p.Undo {
				ready = Readiness(p)
			}
		}
		var n int
		res.Deploy.Phases, n = phaseCommands(d)
		totals, connects, health = append(totals, total), append(connects, connected.Sub(start)), append(health, ready)
		overheads = append(overheads, Overhead(total, 0, ready, b.o.Drain+b.o.Monitor))
		cmds, phaseCmds = append(cmds, int(s.commands.Load())), append(phaseCmds, n)
		return nil
	})
	b.res.Load = append(b.res.Load, row)
	res.Deploy.Total, res.Deploy.Connect, res.Deploy.Readiness = Median(totals), Median(connects), Median(health)
	res.Deploy.Waits, res.Deploy.Overhead = b.o.Drain+b.o.Monitor, Median(overheads)
	res.Deploy.Commands, res.Deploy.PhaseCommands = medianInt(cmds), medianInt(phaseCmds)
	if err != nil {
		return err
	}

	var cold sshRollbacks
	row, err = underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioSSHRollback, b.o.SSHRuns, func(ctx context.Context, i int) error {
		_, prev, err := b.live(ctx)
		if err != nil {
			return err
		}
		return b.sshRollback(ctx, l, prev, &cold)
	})
	b.res.Load = append(b.res.Load, row)
	cold.fill(&res.Rollback)
	if err != nil {
		return err
	}

	// A deployment with standby on, then the rollback to its standby.
	var warm sshRollbacks
	row, err = underLoad(ctx, b.r.publicURL+healthPath, b.o.Rate, ScenarioSSHWarm, b.o.SSHRuns, func(ctx context.Context, i int) error {
		cur, _, err := b.live(ctx)
		if err != nil {
			return err
		}
		s, err := b.r.openSSH(ctx, l)
		if err != nil {
			return err
		}
		defer s.close()
		s.Env.Standby = StandbyWindow
		d := s.NewDeployment(version.MustParse(other(cur)))
		d.Reason = "blueshift bench over SSH, standby on"
		if err := s.Pipeline().Run(ctx, d); err != nil {
			return fmt.Errorf("deploy %s with standby over SSH: %w%s", other(cur), err, logsOf(d))
		}
		return b.sshRollback(ctx, l, cur, &warm)
	})
	b.res.Load = append(b.res.Load, row)
	warm.fill(&res.WarmRollback)
	return err
}

// sshRollbacks are the figures of rollbacks over the link.
type sshRollbacks struct {
	totals, connects, toOld, firstOld []time.Duration
	cmds, phaseCmds                   []int
	phases                            []PhaseCommands
}

// fill writes the medians into run.
func (s *sshRollbacks) fill(run *SSHRun) {
	run.Total, run.Connect = Median(s.totals), Median(s.connects)
	run.FirstOldAnswer, run.ToOld = Median(s.firstOld), Median(s.toOld)
	run.Commands, run.PhaseCommands = medianInt(s.cmds), medianInt(s.phaseCmds)
	run.Phases = s.phases
}

// sshRollback connects over the link as a user's `rollback` would, rolls
// back to prev and adds its figures to s.
func (b *bencher) sshRollback(ctx context.Context, l *sshLink, prev string, s *sshRollbacks) error {
	start := time.Now()
	var e *sshEngine
	var d *deploy.Deployment
	at, samples, err := b.watched(ctx, prev, func() error {
		var err error
		if e, err = b.r.openSSH(ctx, l); err != nil {
			return err
		}
		s.connects = append(s.connects, time.Since(start))
		d = e.NewRollback()
		d.Reason = "blueshift bench over SSH"
		err = e.RollbackPipeline("").Run(ctx, d)
		s.totals = append(s.totals, time.Since(start))
		if err != nil {
			return fmt.Errorf("rollback to %s over SSH: %w%s", prev, err, logsOf(d))
		}
		return nil
	})
	if e != nil {
		defer e.close()
	}
	if err != nil {
		return err
	}
	first, ok := FirstAnswer(samples, prev, start)
	if !ok {
		return fmt.Errorf("rollback over SSH: %s never answered through the proxy", prev)
	}
	var n int
	s.phases, n = phaseCommands(d)
	s.firstOld, s.toOld = append(s.firstOld, first.Sub(start)), append(s.toOld, at.Sub(start))
	s.cmds, s.phaseCmds = append(s.cmds, int(e.commands.Load())), append(s.phaseCmds, n)
	return nil
}

// medianInt is the median of ns, rounded down; zero for none.
func medianInt(ns []int) int {
	ds := make([]time.Duration, len(ns))
	for i, n := range ns {
		ds[i] = time.Duration(n)
	}
	return int(Median(ds))
}

// benchTB runs hosttest's servers (written for tests) in the bench: it
// gives them a temporary directory under the bench's workspace, keeps
// their cleanups for close, and ends the goroutine on Fatalf as testing
// does (run turns that into an error).
type benchTB struct {
	dir string

	mu       sync.Mutex
	failed   bool
	msg      string
	cleanups []func()
}

var _ hosttest.TB = (*benchTB)(nil)

// run calls fn in a goroutine of its own (Fatalf ends it) and returns the
// failure it reported, if any.
func (b *benchTB) run(fn func()) error {
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	<-done
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed {
		return errors.New(b.msg)
	}
	return nil
}

// Helper does nothing.
func (b *benchTB) Helper() {}

// Fatalf records the failure and ends the calling goroutine.
func (b *benchTB) Fatalf(format string, args ...any) {
	b.mu.Lock()
	b.failed, b.msg = true, fmt.Sprintf(format, args...)
	b.mu.Unlock()
	runtime.Goexit()
}

// Skipf is Fatalf: the bench needs what a test would skip without.
func (b *benchTB) Skipf(format string, args ...any) { b.Fatalf(format, args...) }

// Logf does nothing: the servers log only for failed tests.
func (b *benchTB) Logf(string, ...any) {}

// TempDir makes a directory under the bench's workspace, removed by close.
func (b *benchTB) TempDir() string {
	d, err := os.MkdirTemp(b.dir, "sshd-")
	if err != nil {
		b.Fatalf("temporary directory: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Cleanup keeps f for close.
func (b *benchTB) Cleanup(f func()) {
	b.mu.Lock()
	b.cleanups = append(b.cleanups, f)
	b.mu.Unlock()
}

// Failed reports whether Fatalf was called.
func (b *benchTB) Failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed
}

// close runs the cleanups, newest first.
func (b *benchTB) close() {
	b.mu.Lock()
	fs := b.cleanups
	b.cleanups = nil
	b.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
