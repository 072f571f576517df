package hosttest_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// TestSlowLoginThroughSlowLink: the bench's SSH scenario (issue 17) runs
// commands through an sshd whose sessions start late (ForceCommand) and a
// proxy that delays every byte. Commands must still mean what they say
// there: arguments survive quoting, stdin is streamed, stdout and the exit
// code come back, and the command ran behind the slow start
// (SSH_ORIGINAL_COMMAND is set only by ForceCommand).
func TestSlowLoginThroughSlowLink(t *testing.T) {
	sshd := hosttest.StartSSHD(t, hosttest.SSHDOptions{ExtraConfig: hosttest.SlowLoginConfig(100 * time.Millisecond)})
	proxy := hosttest.StartSlowTCPProxy(t, sshd.Addr, 20*time.Millisecond)
	h := sshd.Connect(sshd.ConfigVia(proxy.Addr))
	ctx := context.Background()

	out, err := host.Output(ctx, h, "printf", "%s|", "a b", "it's", "$HOME")
	if err != nil || string(out) != "a b|it's|$HOME|" {
		t.Fatalf("arguments through the slow login: %q, %v", out, err)
	}
	var echoed bytes.Buffer
	big := strings.Repeat("0123456789", 20000) // several chunks through the proxy
	if err := h.Run(ctx, host.Cmd{Argv: []string{"cat"}, Stdin: strings.NewReader(big), Stdout: &echoed}); err != nil || echoed.String() != big {
		t.Fatalf("stdin through the slow link: %d of %d bytes back, %v", echoed.Len(), len(big), err)
	}
	var exit *host.ExitError
	if err := h.Run(ctx, host.Cmd{Argv: []string{"sh", "-c", "exit 3"}}); !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("exit code through the slow login: %v", err)
	}
	out, err = host.Output(ctx, h, "printenv", "SSH_ORIGINAL_COMMAND")
	// Set only by ForceCommand; it names the command the session was opened
	// for (the shared shell's driver, or printenv in a session of its own).
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("the command did not run behind ForceCommand: %q, %v", out, err)
	}
}
