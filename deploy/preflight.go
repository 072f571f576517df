package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/blueshift-deploy/blueshift/backup"
	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// minFreeMemory is the available memory preflight requires on the host to
// run a second colour beside the live one.
const minFreeMemory = 256 << 20

// backupMargin is how much more free disk than the backup estimate
// preflight requires.
const backupMargin = 1.5

// Check is one preflight check's outcome.
type Check struct {
	Name   string
	OK     bool
	Detail string // what was found, or what to fix
	Err    error  `json:"-"` // the failure, for errors.Is/As; nil when OK
}

// PreflightError lists the checks that failed, each saying what to fix.
type PreflightError struct{ Failed []Check }

// Unwrap gives the failed checks' errors, so errors.Is and errors.As see
// through a preflight failure (a traffic.ErrConfigInvalid, say).
func (e *PreflightError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failed))
	for _, c := range e.Failed {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	return errs
}

func (e *PreflightError) Error() string {
	lines := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		lines[i] = c.Name + ": " + c.Detail
	}
	return fmt.Sprintf("%d preflight check(s) failed:\n  %s", len(e.Failed), strings.Join(lines, "\n  "))
}

// addImageChecks adds a check per service image of r: it exists (locally
// or in its registry, without pulling).
func (e *Engine) addImageChecks(ctx context.Context, add func(name string, err error, ok string), r *compose.Rendered) {
	refs := images(r)
	names := make([]string, 0, len(refs))
	for svc := range refs {
		names = append(names, svc)
	}
	sort.Strings(names)
	for _, svc := range names {
		add("image "+svc, e.imageAvailable(ctx, refs[svc]), refs[svc]+" available")
	}
}

// addDiskChecks adds the disk check (free space against the backup's
// estimate when backups are on) and the backup plan's.
func (e *Engine) addDiskChecks(ctx context.Context, add func(name string, err error, ok string), res host.Resources, plan *backup.Plan, planErr error) {
	switch {
	case !e.Env.Backup.Enabled:
		add("disk", res.FreeErr, fmt.Sprintf("%d MiB free", res.Free>>20))
	case planErr != nil:
		add("backup plan", planErr, "")
	default:
		// plan.PreflightFree checks the tools too: asking twice was two
		// more remote commands per source.
		free := int64(res.Free)
		est, perr := plan.PreflightFree(ctx, backupMargin, free, res.FreeErr)
		var space *backup.SpaceError
		switch {
		case perr == nil || errors.As(perr, &space):
			add("backup plan", nil, fmt.Sprintf("%d source(s), tools present", len(plan.Sources)))
			add("disk", perr, fmt.Sprintf("%d MiB free, backup estimated at %d MiB", free>>20, est>>20))
		default:
			add("backup plan", perr, "")
		}
	}

}

// preflightWith checks, without changing anything on the host, that
// deploying v can work: images exist, disk and memory suffice, Docker,
// Compose and the proxy answer, the backup plan is valid, timeouts are
// sane. r is the next colour already rendered for v (nil: render it here),
// so a plan does not load the compose file twice.
func (e *Engine) preflightWith(ctx context.Context, v version.Version, live version.Colour, r *compose.Rendered) ([]Check, error) {
	var checks []Check
	add := func(name string, err error, ok string) {
		c := Check{Name: name, OK: err == nil, Detail: ok}
		if err != nil {
			c.Detail, c.Err = err.Error(), err
		}
		checks = append(checks, c)
	}

	// Docker and Compose.
	dv, err := e.dockerVersion(ctx)
	add("docker", err, "Docker Engine "+dv)
	// Compose is detected from Open on: asking again was one more
	// remote command.
	cli, cv, err := e.compose.result(ctx)
	add("compose", err, strings.Join(cli.Binary, " ")+" "+cv)

	// The compose file renders, and its images exist.
	next := version.Blue
	if live.Valid() {
		next = live.Other()
	}
	if r == nil {
		r, err = e.render(ctx, next, v, "preflight")
	}
	add("compose file", err, "renders for "+string(next))
	if err == nil {
		e.addImageChecks(ctx, add, r)
	}

	// Memory for a second colour and the disk for the backup, asked in one
	// remote command (host.ProbeResources) where they were three or more.
	var plan *backup.Plan
	var planErr error
	diskDir := e.Env.Path
	if e.Env.Backup.Enabled {
		if plan, planErr = e.backupPlan(ctx, v.String(), nil, live); planErr == nil {
			diskDir = plan.BackupsDir()
		}
	}
	// In the same command, as the deploy user: what start will need.
	probe := host.ProbeOptions{DiskDir: diskDir, WriteDir: e.Env.Path, Docker: true}
	if r != nil {
		cli := e.colourCLI(next)
		cli.Files = nil
		probe.Compose = cli.Argv()
		if probe.ComposeFile, err = r.Colour.YAML(); err != nil {
			probe.Compose = nil
		}
	}
	res, err := host.ProbeHost(ctx, e.Host, probe)
	if err != nil {
		res.MemoryErr, res.FreeErr = err, err
		res.WriteErr, res.DockerErr = err, err
		if probe.Compose != nil {
			res.ComposeErr = err
		}
	}
	e.addAccessChecks(add, res, probe)
	err = res.MemoryErr
	mem := res.Memory
	if err == nil && mem.Available < minFreeMemory {
		err = fmt.Errorf("only %d MiB available; a second colour needs at least %d MiB: free memory or stop unused containers", mem.Available>>20, minFreeMemory>>20)
	}
	add("memory", err, fmt.Sprintf("%d MiB available", mem.Available>>20))

	// Disk against the backup estimate.
	e.addDiskChecks(ctx, add, res, plan, planErr)

	// The proxy.
	if e.Switcher != nil {
		add("proxy", e.Switcher.Validate(ctx), e.Env.Proxy.Kind+" configuration valid")
	}

	// The emergency switch is a yes or a no: anything else (SKIP_TESTS=1,
	// yes, maybe) would silently run the tests someone meant to skip.
	if s := e.getenv("SKIP_TESTS"); s != "" && s != "true" && s != "false" {
		add("SKIP_TESTS", fmt.Errorf("%q is neither true nor false: set SKIP_TESTS=true to skip the test suite (emergency only), false or unset to run it", s), "")
	}

	// Timeouts: the phases' worst cases fit in the deadline.
	budget := e.Env.Budget(e.getenv("SKIP_TESTS") == "true")
	add("timeouts", budget.Check(), fmt.Sprintf("deployment deadline %s holds the phases' worst cases (%s)", budget.Deadline, budget.Total()))

	var failed []Check
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		return checks, &PreflightError{Failed: failed}
	}
	return checks, nil
}

// addAccessChecks adds preflight's checks of what the deploy user can do
// (host.ProbeHost asked them): each failure names its fix.
func (e *Engine) addAccessChecks(add func(string, error, string), res host.Resources, probe host.ProbeOptions) {
	user := res.User
	if user == "" {
		user = "the deploy user"
	}
	err := res.WriteErr
	if err != nil {
		err = fmt.Errorf("%w: give %s write access to it (`sudo mkdir -p %s && sudo chown %s %s`) or set environments.%s.path to a directory it owns",
			err, user, e.Env.Path, user, e.Env.Path, e.Env.Name)
	}
	add("app path writable", err, user+" can write "+res.WriteAt)
	if err = res.DockerErr; err != nil {
		err = fmt.Errorf("%w: %s cannot use the Docker daemon: add it to the docker group (`sudo usermod -aG docker %s`, then open a new SSH session), or start Docker if it is not running",
			err, user, user)
	}
	add("docker access", err, user+" reaches the Docker daemon")
	if probe.Compose == nil {
		return
	}
	if err = res.ComposeErr; err != nil {
		err = fmt.Errorf("%w: %s's `%s` cannot read the rendered compose file: install Docker Compose v2 where %s finds it (the docker-compose-plugin package, or ~%s/.docker/cli-plugins/docker-compose)",
			err, user, strings.Join(probe.Compose[:len(e.composeCLI().Binary)], " "), user, user)
	}
	add("compose reads the file", err, user+"'s Compose reads the rendered file")
}

// dockerVersion is the engine's "version (API x)". It asks the Docker API
// when the client can (no remote command: over SSH each is a session), the
// docker CLI on the host otherwise.
func (e *Engine) dockerVersion(ctx context.Context) (string, error) {
	if v, ok, err := container.ServerVersion(ctx, e.docker); ok {
		return v, err
	}
	out, err := host.Output(ctx, e.Host, "docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})")
	return strings.TrimSpace(string(out)), err
}

// imageAvailable: on the host's engine already, or in its registry.
func (e *Engine) imageAvailable(ctx context.Context, ref string) error {
	ok, err := container.ImageExistsLocally(ctx, e.docker, ref)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	dg, err := container.ImageInRegistry(ctx, e.docker, ref, e.registryAuth())
	if err != nil {
		return fmt.Errorf("%s: not on the host, and asking its registry failed (%w): push the image, check the version, or check that the host reaches the registry with the configured credentials", ref, err)
	}
	if dg == "" {
		return fmt.Errorf("%s: not found on the host nor in its registry: push the image, or check the version", ref)
	}
	return nil
}
