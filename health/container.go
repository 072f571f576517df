package health

import (
	"context"
	"fmt"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/container"
)

// ContainerExec runs a command inside a running container.
// container.Docker implements it with the Docker Engine API.
type ContainerExec interface {
	// Exec runs argv in the container and waits for it. A command that ran
	// returns its result with a nil error whatever its exit code; err is for
	// commands that could not be run.
	Exec(ctx context.Context, ctr string, argv []string) (container.ExecResult, error)
}

// ContainerInspector reads a container's state and Docker healthcheck.
// container.Docker implements it with the Docker Engine API.
type ContainerInspector interface {
	Health(ctx context.Context, ctr string) (container.Health, error)
}

var (
	_ ContainerExec      = container.Docker{}
	_ ContainerInspector = container.Docker{}
)

// ExecProbe runs a command in a container and passes when it exits 0 (and,
// with StdoutContains, prints that text): the seed's
// `docker-compose exec -T redis redis-cli ping`.
type ExecProbe struct {
	// Label names the probe in reports; default "exec CONTAINER: ARGV".
	Label string
	// Container is the container's name or ID.
	Container string
	// Argv is the command; it is not run through a shell.
	Argv []string
	// StdoutContains, when set, must occur in the command's stdout.
	StdoutContains string
	// Exec runs the command (a container.Docker, or a fake in tests).
	Exec ContainerExec
}

// Name returns Label or "exec CONTAINER: ARGV".
func (p *ExecProbe) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return "exec " + p.Container + ": " + strings.Join(p.Argv, " ")
}

// Check runs the command once.
func (p *ExecProbe) Check(ctx context.Context) error { return p.Observe(ctx).Err }

// Observe runs the command once and reports its exit code and duration.
func (p *ExecProbe) Observe(ctx context.Context) Observation {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c := startCheck(p.Name())
	if p.Exec == nil || p.Container == "" || len(p.Argv) == 0 {
		return c.abort("needs Exec, Container and Argv", nil)
	}
	res, err := p.Exec.Exec(ctx, p.Container, p.Argv)
	if err != nil {
		return c.fail(reason("exec", err), err)
	}
	if res.ExitCode != 0 {
		why := fmt.Sprintf("exit %d", res.ExitCode)
		if out := snippet(res.Stderr); out != "" {
			why += ": stderr: " + out
		} else if out := snippet(res.Stdout); out != "" {
			why += ": stdout: " + out
		}
		return c.fail(why, nil)
	}
	if p.StdoutContains != "" && !strings.Contains(string(res.Stdout), p.StdoutContains) {
		return c.fail(fmt.Sprintf("exit 0 but stdout lacks %q: stdout: %s", p.StdoutContains, snippet(res.Stdout)), nil)
	}
	return c.pass("exit 0")
}

// ContainerHealthProbe passes when a running container's Docker healthcheck
// reports healthy. A container without a healthcheck is a permanent failure.
type ContainerHealthProbe struct {
	// Label names the probe in reports; default "docker health CONTAINER".
	Label string
	// Container is the container's name or ID.
	Container string
	// Inspector reads the state (a container.Docker, or a fake in tests).
	Inspector ContainerInspector
}

// Name returns Label or "docker health CONTAINER".
func (p *ContainerHealthProbe) Name() string {
	if p.Label != "" {
		return p.Label
	}
	return "docker health " + p.Container
}

// Check reads the container's health once.
func (p *ContainerHealthProbe) Check(ctx context.Context) error { return p.Observe(ctx).Err }

// Observe reads the container's health once.
func (p *ContainerHealthProbe) Observe(ctx context.Context) Observation {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c := startCheck(p.Name())
	if p.Inspector == nil || p.Container == "" {
		return c.abort("needs Inspector and Container", nil)
	}
	h, err := p.Inspector.Health(ctx, p.Container)
	if err != nil {
		return c.fail(reason("inspect", err), err)
	}
	switch {
	case h.State != "running":
		return c.fail("container is "+h.State+", not running", nil)
	case h.Status == container.HealthHealthy:
	case h.Status == container.HealthNone || h.Status == "":
		return c.abort("container has no healthcheck (add one to the service, or use another probe)", nil)
	case h.Status == container.HealthStarting:
		return c.fail("healthcheck still starting", nil)
	default:
		why := fmt.Sprintf("healthcheck %s (%d failing in a row)", h.Status, h.FailingStreak)
		if out := snippet([]byte(h.LastOutput)); out != "" {
			why += ": last output: " + out
		}
		return c.fail(why, nil)
	}
	return c.pass(container.HealthHealthy)
}
