package compose

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// CLI builds the command lines of one compose project on a host. It runs
// nothing: its methods return host.Cmd values for a host.Runner.
type CLI struct {
	// Binary is the compose program: ["docker", "compose"] (v2, the
	// default when empty) or ["docker-compose"].
	Binary []string
	// Legacy marks docker-compose v1, which has no `up --wait`: callers
	// then wait through health checks themselves.
	Legacy bool
	// ProjectName is the compose project ("shop-blue"); required.
	ProjectName string
	// Files are the compose files, relative to Dir or absolute.
	Files []string
	// EnvFile is passed as --env-file (interpolation variables).
	EnvFile string
	// Profiles are enabled with --profile.
	Profiles []string
	// Dir is the directory commands run in on the host (the app's path).
	Dir string
}

// V2 is the Compose v2 plugin, the default.
var V2 = []string{"docker", "compose"}

// V1 is the standalone docker-compose program.
var V1 = []string{"docker-compose"}

// Argv returns the compose command line for args, with the project's global
// flags before them.
func (c CLI) Argv(args ...string) []string {
	bin := c.Binary
	if len(bin) == 0 {
		bin = V2
	}
	argv := append([]string{}, bin...)
	if c.ProjectName != "" {
		argv = append(argv, "--project-name", c.ProjectName)
	}
	for _, f := range c.Files {
		argv = append(argv, "--file", f)
	}
	if c.EnvFile != "" {
		argv = append(argv, "--env-file", c.EnvFile)
	}
	for _, p := range c.Profiles {
		argv = append(argv, "--profile", p)
	}
	return append(argv, args...)
}

func (c CLI) cmd(args ...string) host.Cmd {
	return host.Cmd{Argv: c.Argv(args...), Dir: c.Dir}
}

// Up starts (or recreates when changed) the services, all when none are
// named, detached, removing orphans of the project. With waitTimeout > 0
// and Compose v2 it adds --wait --wait-timeout, so the command returns when
// the services are running and healthy; v1 has no --wait: wait with health
// probes instead.
func (c CLI) Up(waitTimeout time.Duration, services ...string) host.Cmd {
	args := []string{"up", "--detach", "--remove-orphans"}
	if waitTimeout > 0 && !c.Legacy {
		args = append(args, "--wait", "--wait-timeout", seconds(waitTimeout))
	}
	return c.cmd(append(args, services...)...)
}

// UpNoRecreate starts the services that are not running and never
// recreates existing containers: how a deployment starts shared services.
func (c CLI) UpNoRecreate(services ...string) host.Cmd {
	return c.cmd(append([]string{"up", "--detach", "--no-recreate"}, services...)...)
}

// Stop stops the services (all when none are named), giving each timeout to
// exit (0 means compose's default, 10s), keeping the containers for an
// instant restart.
func (c CLI) Stop(timeout time.Duration, services ...string) host.Cmd {
	args := []string{"stop"}
	if timeout > 0 {
		args = append(args, "--timeout", seconds(timeout))
	}
	return c.cmd(append(args, services...)...)
}

// Start starts stopped services (all when none are named).
func (c CLI) Start(services ...string) host.Cmd {
	return c.cmd(append([]string{"start"}, services...)...)
}

// Down removes the project's containers and its own networks. Volumes are
// removed only when removeVolumes is set (never the shared, external ones).
func (c CLI) Down(removeVolumes bool) host.Cmd {
	args := []string{"down", "--remove-orphans"}
	if removeVolumes {
		args = append(args, "--volumes")
	}
	return c.cmd(args...)
}

// Ps lists the project's containers, stopped ones too: one JSON object per
// container (v2), or their IDs (v1, which has no JSON output).
func (c CLI) Ps() host.Cmd {
	if c.Legacy {
		return c.cmd("ps", "--all", "-q")
	}
	return c.cmd("ps", "--all", "--format", "json")
}

// Exec runs argv in the running container of service, without a TTY. env
// holds KEY=VALUE pairs: only the names go on the command line (--env KEY);
// the values travel in the command's environment, so secrets never show in
// a process list or an error message.
func (c CLI) Exec(service string, env []string, argv ...string) host.Cmd {
	args := append([]string{"exec", "-T"}, envFlags(env)...)
	cmd := c.cmd(append(append(args, service), argv...)...)
	cmd.Env = env
	return cmd
}

// Run runs argv in a new one-off container of service (a migration, a
// collectstatic), removed afterwards, without starting dependencies. env is
// passed as in Exec.
func (c CLI) Run(service string, env []string, argv ...string) host.Cmd {
	args := append([]string{"run", "--rm", "-T", "--no-deps"}, envFlags(env)...)
	cmd := c.cmd(append(append(args, service), argv...)...)
	cmd.Env = env
	return cmd
}

// Logs prints the last tail lines of the services' logs (all services when
// none are named), without colours.
func (c CLI) Logs(tail int, services ...string) host.Cmd {
	return c.cmd(append([]string{"logs", "--no-color", "--tail", strconv.Itoa(tail)}, services...)...)
}

// Config validates the project's files (quiet: no output unless invalid).
func (c CLI) Config() host.Cmd { return c.cmd("config", "--quiet") }

func envFlags(env []string) []string {
	var flags []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		flags = append(flags, "--env", k)
	}
	return flags
}

// seconds renders d as whole seconds, rounding up (compose takes integers).
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// ErrNoCompose is returned by DetectCLI when a host has neither Compose v2
// nor docker-compose.
var ErrNoCompose = errors.New("docker compose not found")

// DetectCLI finds the compose program on a host: Compose v2
// (`docker compose`) first, then docker-compose. It returns the CLI (with
// Binary and Legacy set; fill in the project fields) and the version
// ("2.40.3").
func DetectCLI(ctx context.Context, r host.Runner) (CLI, string, error) {
	var errs []error
	for _, bin := range [][]string{V2, V1} {
		out, err := host.Output(ctx, r, append(append([]string{}, bin...), "version", "--short")...)
		if err != nil {
			if ctx.Err() != nil {
				return CLI{}, "", fmt.Errorf("compose: detect: %w", ctx.Err())
			}
			errs = append(errs, err)
			continue
		}
		version := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
		major, _, _ := strings.Cut(version, ".")
		if major == "" {
			errs = append(errs, fmt.Errorf("%s version --short: unexpected output %q", strings.Join(bin, " "), out))
			continue
		}
		return CLI{Binary: bin, Legacy: major == "1"}, version, nil
	}
	return CLI{}, "", fmt.Errorf("compose: detect: %w on the host: install the Compose v2 plugin "+
		"(Debian/Ubuntu: apt-get install docker-compose-plugin; or put the docker-compose-linux binary at "+
		"/usr/local/lib/docker/cli-plugins/docker-compose): %w", ErrNoCompose, errors.Join(errs...))
}
