package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// LogOptions chooses the lines StreamLogs writes.
type LogOptions struct {
	// Follow keeps writing new lines until ctx ends.
	Follow bool
	// Tail is how many of the last lines to start with; <= 0 means all.
	Tail int
	// Since is Docker's --since: a duration ("10m") or a timestamp;
	// "" means from the start.
	Since string
}

// StreamLogs writes container id's stdout to stdout and its stderr to
// stderr as Docker returns them (a TTY container's both go to stdout). With
// Follow it returns when ctx ends, with nil: the caller stopped it.
func StreamLogs(ctx context.Context, cli Engine, id string, o LogOptions, stdout, stderr io.Writer) error {
	c, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	tail := "all"
	if o.Tail > 0 {
		tail = strconv.Itoa(o.Tail)
	}
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Tail: tail, Since: o.Since, Follow: o.Follow,
	})
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	defer rc.Close()
	// The response body is closed on cancel, ending the copy.
	defer context.AfterFunc(ctx, func() { rc.Close() })()
	if c.Config != nil && c.Config.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if err != nil && ctx.Err() != nil && o.Follow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	return nil
}

// ExecStream runs argv in the running container id, with env (KEY=VALUE)
// added to its environment, writing its output to stdout and stderr as it
// comes, and returns its exit code. A command that ran and failed is not
// an error. Env values are never put in errors. ctx bounds the whole run.
func ExecStream(ctx context.Context, cli Engine, id string, argv, env []string, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("exec: empty argv")
	}
	what := fmt.Sprintf("exec %q in container %s", argv[0], id)
	created, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: argv, Env: env, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	// ContainerExecAttach starts the exec; ContainerExecStart must not be
	// called as well.
	att, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer att.Close()
	// The hijacked connection does not watch ctx: close it on cancel.
	defer context.AfterFunc(ctx, att.Close)()
	if _, err := stdcopy.StdCopy(stdout, stderr, att.Reader); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return 0, fmt.Errorf("%s: read output: %w", what, err)
	}
	code, err := execExitCode(ctx, cli, created.ID)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return code, nil
}
