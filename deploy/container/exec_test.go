package container

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// fakeExecEngine answers Exec's three calls: the attach stream carries
// stdout and stderr (multiplexed as the daemon does) and then ends, unless
// hang; the exec is reported running for the first runningInspects
// inspections.
type fakeExecEngine struct {
	Engine          // the other methods are not called
	stdout, stderr  []byte
	hang            bool
	attached        chan struct{} // closed once the stream is open, if not nil
	runningInspects int
	exitCode        int
	inspects        atomic.Int32
}

func (f *fakeExecEngine) ContainerExecCreate(context.Context, string, container.ExecOptions) (container.ExecCreateResponse, error) {
	return container.ExecCreateResponse{ID: "exec1"}, nil
}

func (f *fakeExecEngine) ContainerExecAttach(context.Context, string, container.ExecAttachOptions) (types.HijackedResponse, error) {
	client, daemon := net.Pipe()
	go func() {
		_, _ = stdcopy.NewStdWriter(daemon, stdcopy.Stdout).Write(f.stdout)
		_, _ = stdcopy.NewStdWriter(daemon, stdcopy.Stderr).Write(f.stderr)
		if !f.hang {
			daemon.Close()
		}
	}()
	if f.attached != nil {
		close(f.attached)
	}
	return types.NewHijackedResponse(client, ""), nil
}

func (f *fakeExecEngine) ContainerExecInspect(context.Context, string) (container.ExecInspect, error) {
	n := int(f.inspects.Add(1))
	if n <= f.runningInspects {
		return container.ExecInspect{Running: true}, nil
	}
	return container.ExecInspect{ExitCode: f.exitCode}, nil
}

// TestExecWaitsForTheExitCode: the attach stream can end a moment before
// the daemon records the exit. Before this commit Exec inspected once and
// failed with "output closed but the command is still running" (health's
// copy of Exec polled instead: the two behaved differently).
func TestExecWaitsForTheExitCode(t *testing.T) {
	f := &fakeExecEngine{stdout: []byte("migrated\n"), stderr: []byte("1 warning\n"), runningInspects: 3, exitCode: 3}
	res, err := Exec(context.Background(), f, "web", []string{"migrate"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "migrated\n" || string(res.Stderr) != "1 warning\n" {
		t.Errorf("result %d %q %q, want 3 \"migrated\\n\" \"1 warning\\n\"", res.ExitCode, res.Stdout, res.Stderr)
	}
	if n := f.inspects.Load(); n != 4 {
		t.Errorf("%d inspections, want 4 (3 running, then exited)", n)
	}
}

// TestExecCapsOutput: a command printing more than ExecOutputLimit keeps the
// end of each stream, where a failure's message is. Before this commit
// Exec kept all of it in memory.
func TestExecCapsOutput(t *testing.T) {
	big := append(bytes.Repeat([]byte("progress line\n"), 2*ExecOutputLimit/14), "Error: disk full\n"...)
	f := &fakeExecEngine{stdout: big, stderr: big, exitCode: 1}
	res, err := Exec(context.Background(), f, "web", []string{"migrate"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"stdout": res.Stdout, "stderr": res.Stderr} {
		if len(out) != ExecOutputLimit || !bytes.HasSuffix(out, []byte("progress line\nError: disk full\n")) {
			t.Errorf("%s: %d bytes ending %q, want %d ending with the error", name, len(out), out[max(0, len(out)-40):], ExecOutputLimit)
		}
	}
}

// TestExecStopsWhenCancelled: a command whose output never ends is cut off
// by ctx, and the error says so.
func TestExecStopsWhenCancelled(t *testing.T) {
	f := &fakeExecEngine{stdout: []byte("serving\n"), hang: true, attached: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.attached
		cancel()
	}()
	_, err := Exec(ctx, f, "web", []string{"serve"}, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `exec "serve" in container web: read output: `) {
		t.Errorf("err = %v, want context.Canceled while reading output", err)
	}
}
