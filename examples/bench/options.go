package bench

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// Environment variables OptionsFromEnv reads.
const (
	RunsEnv = "BLUESHIFT_BENCH_RUNS"  // runs per scenario, default DefaultRuns
	RateEnv = "BLUESHIFT_BENCH_RATE"  // requests per second, default DefaultRate
	DBEnv   = "BLUESHIFT_BENCH_DB_MB" // database size in MiB, default DefaultDBMB; 0 skips the backup part
	OutEnv  = "BLUESHIFT_BENCH_OUT"   // JSON results file, default DefaultOut
	// BackupRunsEnv is how many times each backup method runs, default
	// DefaultBackupRuns.
	BackupRunsEnv = "BLUESHIFT_BENCH_BACKUP_RUNS"
	// OnlyEnv runs one part: "deploy" (everything but the backup) or
	// "backup"; empty runs all.
	OnlyEnv = "BLUESHIFT_BENCH_ONLY"
	// ScenariosEnv picks the parts, comma-separated: "local" (the
	// deployments and rollbacks on the local engine, and the seed's
	// method), "ssh" (the SSH scenario, see Options.Scenarios) and
	// "backup", "thebot" (see ThebotResult). Default "local,backup" (or
	// what OnlyEnv says).
	ScenariosEnv = "BLUESHIFT_BENCH_SCENARIOS"
	// SSHRunsEnv is how many deployments and rollbacks the SSH scenario
	// runs, default DefaultSSHRuns.
	SSHRunsEnv = "BLUESHIFT_BENCH_SSH_RUNS"
	// PostgresEnv names the server the backup part creates its database
	// on; default hosttest.PostgresURL() (the role .ci/run creates).
	PostgresEnv = "BLUESHIFT_BENCH_POSTGRES_URL"
)

// Defaults of Options.
const (
	DefaultRuns = 5
	DefaultRate = 300
	DefaultDBMB = 256
	// DefaultBackupRuns is 1: pg_dump -Fc compresses, and a 256 MiB dump
	// of incompressible data takes tens of seconds on a small machine.
	DefaultBackupRuns = 1
	DefaultOut        = "bench-results.json"
	// DefaultSSHRuns is 1: over the SSH scenario's slow link one
	// deployment and its rollback take minutes before issue 17's
	// reductions.
	DefaultSSHRuns = 1
	DefaultMonitor = 5 * time.Second
	DefaultDrain   = time.Second
)

// Values of Options.Only.
const (
	OnlyDeploy = "deploy"
	OnlyBackup = "backup"
)

// Values of Options.Scenarios.
const (
	ScenariosLocal  = "local"
	ScenariosSSH    = "ssh"
	ScenariosBackup = "backup"
	// ScenariosThebot is the thebot scenario (see ThebotResult).
	ScenariosThebot = "thebot"
)

// Options configure Run. OptionsFromEnv fills them from the environment;
// zero fields take the defaults.
type Options struct {
	// Runs is how many times each scenario runs (medians are over them).
	// Default DefaultRuns; at least 1.
	Runs int
	// Rate is the load sent through the proxy, in requests per second.
	// Default DefaultRate.
	Rate int
	// DBMB is the size of the database the backup part dumps, in MiB;
	// default DefaultDBMB. Negative skips the backup part.
	DBMB int
	// BackupRuns is how many times each backup method runs (alternating;
	// medians are over them). Default DefaultBackupRuns.
	BackupRuns int
	// PostgresURL is a server where the role may create databases.
	// Default hosttest.PostgresURL().
	PostgresURL string
	// Monitor is the deployments' monitor window and Drain their drain
	// wait (both subtracted from the overhead). Defaults DefaultMonitor,
	// DefaultDrain.
	Monitor, Drain time.Duration
	// Only restricts the run to OnlyDeploy or OnlyBackup; empty runs all.
	// Scenarios, when set, takes precedence.
	Only string
	// Scenarios are the parts to run: ScenariosLocal, ScenariosSSH,
	// ScenariosBackup, ScenariosThebot. Default: local and backup (as Only
	// restricts them). The thebot scenario (ThebotResult) builds and
	// deploys the seed's own application; not in the default run either. The SSH scenario deploys the demo app and rolls it back
	// through a real sshd on 127.0.0.1 whose sessions take SSHLoginDelay
	// to start, reached through a proxy adding SSHLinkDelay each way,
	// under the same load through nginx; it is not in the default run
	// because it takes minutes.
	Scenarios []string
	// SSHRuns is how many deployments and rollbacks the SSH scenario runs;
	// default DefaultSSHRuns.
	SSHRuns int
	// Dir is the workspace (compose file, deploy.yml, nginx prefix, app
	// path); Run creates and removes a temporary one when empty.
	Dir string
	// DockerSocket is the Docker Engine's socket; default the host
	// package's default.
	DockerSocket string
	// Logger receives the library's logs; nil discards them.
	Logger *slog.Logger
	// Progress, if set, receives what the bench is doing, a line at a time.
	Progress func(string)
}

// OptionsFromEnv reads RunsEnv, RateEnv, DBEnv and PostgresEnv; unset
// variables leave the defaults. DBEnv=0 skips the backup part.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	var o Options
	for _, v := range []struct {
		name string
		dst  *int
		min  int
	}{{RunsEnv, &o.Runs, 1}, {RateEnv, &o.Rate, 1}, {DBEnv, &o.DBMB, 0}, {BackupRunsEnv, &o.BackupRuns, 1}, {SSHRunsEnv, &o.SSHRuns, 1}} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < v.min {
			return o, fmt.Errorf("%s=%q: want a whole number >= %d", v.name, s, v.min)
		}
		*v.dst = n
		if v.dst == &o.DBMB && n == 0 {
			o.DBMB = -1
		}
	}
	o.PostgresURL = getenv(PostgresEnv)
	switch o.Only = getenv(OnlyEnv); o.Only {
	case "", OnlyDeploy, OnlyBackup:
	default:
		return o, fmt.Errorf("%s=%q: want %q, %q or empty (all)", OnlyEnv, o.Only, OnlyDeploy, OnlyBackup)
	}
	if s := getenv(ScenariosEnv); s != "" {
		for _, sc := range strings.Split(s, ",") {
			switch sc = strings.TrimSpace(sc); sc {
			case ScenariosLocal, ScenariosSSH, ScenariosBackup, ScenariosThebot:
				o.Scenarios = append(o.Scenarios, sc)
			default:
				return o, fmt.Errorf("%s=%q: %q is not a scenario: want a comma-separated list of %q, %q, %q, %q", ScenariosEnv, s, sc, ScenariosLocal, ScenariosSSH, ScenariosBackup, ScenariosThebot)
			}
		}
	}
	return o, nil
}

// runs reports whether scenario sc is to run.
func (o Options) runs(sc string) bool {
	if len(o.Scenarios) > 0 {
		return slices.Contains(o.Scenarios, sc)
	}
	switch sc {
	case ScenariosLocal:
		return o.Only != OnlyBackup
	case ScenariosBackup:
		return o.Only != OnlyDeploy
	}
	return false
}

// OutputPath is where `go tool mage bench` writes the JSON results:
// $BLUESHIFT_BENCH_OUT or DefaultOut.
func OutputPath(getenv func(string) string) string {
	if p := getenv(OutEnv); p != "" {
		return p
	}
	return DefaultOut
}

func (o Options) withDefaults() Options {
	if o.Runs <= 0 {
		o.Runs = DefaultRuns
	}
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	if o.DBMB == 0 {
		o.DBMB = DefaultDBMB
	}
	if o.SSHRuns <= 0 {
		o.SSHRuns = DefaultSSHRuns
	}
	if o.BackupRuns <= 0 {
		o.BackupRuns = DefaultBackupRuns
	}
	if o.PostgresURL == "" {
		o.PostgresURL = hosttest.PostgresURL()
	}
	if o.Monitor <= 0 {
		o.Monitor = DefaultMonitor
	}
	if o.Drain <= 0 {
		o.Drain = DefaultDrain
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}
