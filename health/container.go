package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// ContainerExec runs a command inside a running container.
type ContainerExec interface {
	// Exec runs argv in the container and waits for it. A command that ran
	// returns its result with a nil error whatever its exit code; err is for
	// commands that could not be run.
	Exec(ctx context.Context, container string, argv []string) (ExecResult, error)
}

// ExecResult is how a command run in a container ended.
type ExecResult struct {
	ExitCode int
	// Stdout and Stderr hold the start of each stream (at most 64 KiB).
	Stdout, Stderr string
}

// ContainerInspector reads a container's Docker healthcheck state.
type ContainerInspector interface {
	Health(ctx context.Context, container string) (ContainerHealth, error)
}

// ContainerHealth is a container's state as Docker reports it.
type ContainerHealth struct {
	// State is the container's state: "running", "exited", "restarting", ...
	State string
	// Status is the healthcheck status: "starting", "healthy", "unhealthy",
	// or "none" when the container has no healthcheck.
	Status string
	// FailingStreak counts consecutive failed healthchecks.
	FailingStreak int
	// LastOutput is the trimmed output of the latest healthcheck run.
	LastOutput string
}

// Healthcheck statuses as Docker reports them, plus NoHealthcheck.
const (
	Starting      = string(container.Starting)
	Healthy       = string(container.Healthy)
	Unhealthy     = string(container.Unhealthy)
	NoHealthcheck = string(container.NoHealthcheck)
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
	// Exec runs the command (a Docker, or a fake in tests).
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
		if out := snippet([]byte(res.Stderr)); out != "" {
			why += ": stderr: " + out
		} else if out := snippet([]byte(res.Stdout)); out != "" {
			why += ": stdout: " + out
		}
		return c.fail(why, nil)
	}
	if p.StdoutContains != "" && !strings.Contains(res.Stdout, p.StdoutContains) {
		return c.fail(fmt.Sprintf("exit 0 but stdout lacks %q: stdout: %s", p.StdoutContains, snippet([]byte(res.Stdout))), nil)
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
	// Inspector reads the state (a Docker, or a fake in tests).
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
	case h.Status == Healthy:
	case h.Status == NoHealthcheck || h.Status == "":
		return c.abort("container has no healthcheck (add one to the service, or use another probe)", nil)
	case h.Status == Starting:
		return c.fail("healthcheck still starting", nil)
	default:
		why := fmt.Sprintf("healthcheck %s (%d failing in a row)", h.Status, h.FailingStreak)
		if out := snippet([]byte(h.LastOutput)); out != "" {
			why += ": last output: " + out
		}
		return c.fail(why, nil)
	}
	return c.pass(Healthy)
}

// DockerAPI is the part of the Docker Engine client (*client.Client) that
// Docker uses.
type DockerAPI interface {
	ContainerExecCreate(ctx context.Context, container string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, config container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	ContainerInspect(ctx context.Context, container string) (container.InspectResponse, error)
}

var _ DockerAPI = (*client.Client)(nil)

// Docker implements ContainerExec and ContainerInspector with the Docker
// Engine API. Give it a client that reaches the host's daemon (locally or
// through the host's Dialer).
type Docker struct {
	Client DockerAPI
}

// execOutputLimit is how much of each stream ExecResult keeps.
const execOutputLimit = 64 << 10

// Exec creates an exec, attaches to it (which starts it), reads its
// demultiplexed output to the end, and reads its exit code.
func (d Docker) Exec(ctx context.Context, ctr string, argv []string) (ExecResult, error) {
	created, err := d.Client.ContainerExecCreate(ctx, ctr, container.ExecOptions{
		Cmd: argv, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return ExecResult{}, fmt.Errorf("docker exec create in %s: %w", ctr, err)
	}
	att, err := d.Client.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("docker exec attach in %s: %w", ctr, err)
	}
	// The hijacked connection does not watch ctx: close it on cancel.
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	defer att.Close()
	var stdout, stderr limitedBuffer
	stdout.n, stderr.n = execOutputLimit, execOutputLimit
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return ExecResult{}, fmt.Errorf("docker exec in %s: reading output: %w", ctr, err)
	}
	// The stream can end a moment before the daemon records the exit.
	for {
		ins, err := d.Client.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return ExecResult{}, fmt.Errorf("docker exec inspect in %s: %w", ctr, err)
		}
		if !ins.Running {
			return ExecResult{ExitCode: ins.ExitCode, Stdout: stdout.String(), Stderr: stderr.String()}, nil
		}
		select {
		case <-ctx.Done():
			return ExecResult{}, fmt.Errorf("docker exec in %s: waiting for the exit code: %w", ctr, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Health inspects the container.
func (d Docker) Health(ctx context.Context, ctr string) (ContainerHealth, error) {
	ins, err := d.Client.ContainerInspect(ctx, ctr)
	if err != nil {
		return ContainerHealth{}, fmt.Errorf("docker inspect %s: %w", ctr, err)
	}
	h := ContainerHealth{Status: NoHealthcheck}
	if ins.State == nil {
		return h, nil
	}
	h.State = string(ins.State.Status)
	if hs := ins.State.Health; hs != nil {
		h.Status = string(hs.Status)
		h.FailingStreak = hs.FailingStreak
		if n := len(hs.Log); n > 0 && hs.Log[n-1] != nil {
			h.LastOutput = strings.TrimSpace(hs.Log[n-1].Output)
		}
	}
	return h, nil
}

// limitedBuffer keeps the first n bytes written to it and discards the rest.
type limitedBuffer struct {
	n   int
	buf []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - len(l.buf); room > 0 {
		l.buf = append(l.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.buf) }
