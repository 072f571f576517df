package targets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/console"
	bsversion "github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/magefiles/internal/cli"
)

// Where targets read the environment and write their output; tests replace
// them.
var (
	getenv           = os.Getenv
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// loadConfig loads and validates the configuration file named by
// $DEPLOY_CONFIG (default deploy.yml), expanding ${VAR} from the
// environment.
func loadConfig() (*deploy.Config, error) {
	return deploy.LoadDefault(getenv)
}

// newLogger returns the targets' logger on stderr (cli.Logger).
func newLogger() *slog.Logger { return cli.Logger(stderr) }

// fail turns err into the error a target returns (cli.Fail): one line,
// exit 1 unless err carries its own exit status.
func fail(err error) error { return cli.Fail(stderr, err) }

// envName is the environment a target was asked for: -env=NAME (flag, when
// given), else $BLUESHIFT_ENV, else "" (chooseEnv decides).
func envName(flag *string) string {
	if flag != nil && *flag != "" {
		return *flag
	}
	return getenv("BLUESHIFT_ENV")
}

// chooseEnv returns the environment of c called name; with no name, the
// configuration's only environment. Several environments and no name, or
// an unknown name, is an error naming the environments c has: a target
// never falls back to production silently.
func chooseEnv(c *deploy.Config, name string) (*deploy.Environment, error) {
	if name == "" {
		names := c.EnvNames()
		if len(names) != 1 {
			return nil, fmt.Errorf("which environment? pass -env=NAME or set BLUESHIFT_ENV; %s defines %s", c.File, strings.Join(names, ", "))
		}
		name = names[0]
	}
	return c.Env(name)
}

// announce writes the first line of every target working on an
// environment, to stderr (stdout stays the target's output): which
// environment and host it acts on, the host masked as in all output.
func announce(env *deploy.Environment) {
	fmt.Fprintf(stderr, "%s on %s\n", env.Name, env.Redactor()(env.Host.Address))
}

// interruptible returns ctx cancelled by SIGINT or SIGTERM, so an interrupt
// stops a pipeline, which then undoes what it did.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// withEngine loads deploy.yml, connects to environment name (chooseEnv:
// "" is the only one), says so (announce) and runs fn with a context
// cancelled by SIGINT or SIGTERM; the connection is closed afterwards and
// fn's error goes through fail.
func withEngine(ctx context.Context, name string, fn func(context.Context, *deploy.Engine) error) error {
	ctx, stop := interruptible(ctx)
	defer stop()
	c, err := loadConfig()
	if err != nil {
		return fail(err)
	}
	env, err := chooseEnv(c, name)
	if err != nil {
		return fail(err)
	}
	announce(env)
	eng, err := deploy.Open(ctx, c, env.Name, deploy.Options{Logger: newLogger(), Getenv: getenv})
	if err != nil {
		// Even "cannot connect to user@host" masks them: they are
		// secrets in the seed's workflow (the field named says where).
		return fail(deploy.RedactError(err, env.Redactor()))
	}
	defer eng.Close()
	return fail(deploy.RedactError(fn(ctx, eng), eng.Env.Redactor()))
}

// writeMasked writes what write produces to stdout with the
// environment's secrets, host, user and path masked (history entries
// written by older versions, lock holders, errors in a status).
func writeMasked(eng *deploy.Engine, write func(io.Writer) error) error {
	var buf bytes.Buffer
	err := write(&buf)
	if _, werr := io.WriteString(stdout, eng.Env.Redactor()(buf.String())); err == nil {
		err = werr
	}
	return err
}

// parseVersion parses a release version; "auto" is the clock's
// (version:next).
func parseVersion(v string) (bsversion.Version, error) {
	if v == "auto" {
		return bsversion.Auto(time.Now()), nil
	}
	return bsversion.Parse(v)
}

// Exit codes of the pipeline targets by outcome.
var outcomeExit = map[deploy.Outcome]int{
	deploy.OutcomeFailed:         1,
	deploy.OutcomeRolledBack:     2,
	deploy.OutcomeRollbackFailed: 3,
}

// runPipeline runs p for d with the live console on stdout, prints the
// summary, in GitHub Actions appends the job summary to
// $GITHUB_STEP_SUMMARY and prints ::error::/::warning:: lines, writes the JSON report to $BLUESHIFT_REPORT (default
// blueshift-report.json) and exits non-zero unless d succeeded: 1 failed
// before anything changed, 2 rolled back, 3 the rollback failed too.
func runPipeline(ctx context.Context, eng *deploy.Engine, p *deploy.Pipeline, d *deploy.Deployment) error {
	redact := eng.Env.Redactor()
	c := console.New(stdout, console.Options{Redact: redact})
	d.Observe = c.Observe
	runErr := p.Run(ctx, d)
	if err := c.Summary(d); err != nil {
		fmt.Fprintf(stderr, "writing the summary failed: %v\n", err)
	}
	if err := console.WriteGitHub(stdout, d, redact, getenv); err != nil {
		fmt.Fprintf(stderr, "writing the GitHub job summary failed: %v\n", err)
	}
	report := getenv("BLUESHIFT_REPORT")
	if report == "" {
		report = "blueshift-report.json"
	}
	rep := console.NewReport(d)
	rep.Redact(redact)
	if err := rep.WriteFile(report); err != nil {
		fmt.Fprintf(stderr, "writing the report %s failed: %v\n", report, err)
	}
	if d.Outcome == deploy.OutcomeSucceeded && runErr == nil {
		return nil
	}
	code, ok := outcomeExit[d.Outcome]
	if !ok {
		code = 1
	}
	msg := d.Environment
	if v := d.Version.String(); v != "" {
		msg += " " + v
	}
	msg += ": " + string(d.Outcome)
	if runErr != nil {
		first, _, multi := strings.Cut(redact(runErr.Error()), "\n")
		msg += ": " + strings.TrimSuffix(first, ":")
		if multi {
			msg += " (details in the summary above)"
		}
	}
	return mg.Fatal(code, msg)
}

// actor is who runs the target, for the records: $GITHUB_ACTOR in CI,
// else $USER.
func actor() string {
	for _, k := range []string{"GITHUB_ACTOR", "USER"} {
		if a := getenv(k); a != "" {
			return a
		}
	}
	return "unknown"
}
