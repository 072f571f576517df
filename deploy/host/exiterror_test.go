package host_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// TestExitErrorMessageIsOneShortLine runs a 40-line script that fails with
// several lines of stderr on the real local runner. On 8fa63d2 the error's
// message held the whole argv and all of stderr: a failed lock script
// printed 40 lines of shell in the console. Now it is one line (host,
// command cut to ~80 characters, exit status, stderr's last line) and the
// whole argv and stderr stay in the fields.
func TestExitErrorMessageIsOneShortLine(t *testing.T) {
	var script strings.Builder
	for i := range 40 {
		fmt.Fprintf(&script, "step%d=%d\n", i, i)
	}
	script.WriteString("echo 'warming up' >&2\necho 'Traceback (most recent call last):' >&2\necho 'RuntimeError: database is locked' >&2\n\nexit 3\n")
	argv := []string{"sh", "-c", script.String()}
	err := host.NewLocal().Run(context.Background(), host.Cmd{Argv: argv})
	var exit *host.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("err = %v, want *host.ExitError", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || utf8.RuneCountInString(msg) > 160 {
		t.Errorf("message is not one short line (%d characters):\n%s", utf8.RuneCountInString(msg), msg)
	}
	if !strings.HasPrefix(msg, "local: sh -c step0=0 step1=1 ") || !strings.Contains(msg, "…: exit status 3: RuntimeError: database is locked") {
		t.Errorf("message = %q", msg)
	}
	if exit.Code != 3 || strings.Join(exit.Argv, " ") != strings.Join(argv, " ") ||
		!strings.Contains(exit.StderrTail, "warming up\nTraceback (most recent call last):\nRuntimeError: database is locked") {
		t.Errorf("fields lost: code %d, argv %q, stderr tail %q", exit.Code, exit.Argv, exit.StderrTail)
	}
}

// TestExitErrorMessage pins the message's parts on made-up errors.
func TestExitErrorMessage(t *testing.T) {
	long := strings.Repeat("x", 500)
	for _, c := range []struct {
		name string
		err  host.ExitError
		want string
	}{
		{"short command, no stderr", host.ExitError{Host: "deploy@h:22", Argv: []string{"true"}, Code: 1}, "deploy@h:22: true: exit status 1"},
		{"stderr's last non-blank line", host.ExitError{Host: "local", Argv: []string{"nginx", "-t"}, Code: 1, StderrTail: "a\nnginx: [emerg] unknown directive\n\n"}, "local: nginx -t: exit status 1: nginx: [emerg] unknown directive"},
		{"long stderr line cut", host.ExitError{Host: "local", Argv: []string{"x"}, Code: 2, StderrTail: long}, "local: x: exit status 2: " + strings.Repeat("x", 299) + "…"},
		{"a named script by its name and arguments", host.ExitError{Host: "local", Argv: []string{"sh", "-c", "set -e\n" + long, "blueshift-lock", "/srv/app/.blueshift", "30"}, Code: 75, StderrTail: "lock held"}, "local: sh -c … blueshift-lock /srv/app/.blueshift 30: exit status 75: lock held"},
		// The message shows the last line even when it only says that the
		// program gave up; the lines before it (why) are in StderrTail,
		// which TestExitErrorKeepsTheLastStderrLines checks.
		{"a generic last line is shown as it is", host.ExitError{Host: "local", Argv: []string{"tar", "-c"}, Code: 2, StderrTail: "gzip: stdout: No space left on device\ntar: Error is not recoverable: exiting now"}, "local: tar -c: exit status 2: tar: Error is not recoverable: exiting now"},
		// Before this commit a list of "give-up" words picked the line to
		// show: an error line containing one ("exited with") was taken for
		// a trailer, and the message showed the harmless line before it
		// ("local: migrate: exit status 1: warning: settings.DEBUG is on").
		{"an error naming an exit is the error", host.ExitError{Host: "local", Argv: []string{"migrate"}, Code: 1, StderrTail: "warning: settings.DEBUG is on\nError: migration 0042 exited with code 3"}, "local: migrate: exit status 1: Error: migration 0042 exited with code 3"},
		{"command cut at 80", host.ExitError{Host: "local", Argv: []string{"echo", long}, Code: 1}, "local: echo " + strings.Repeat("x", 74) + "…: exit status 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.err.Error(); got != c.want {
				t.Errorf("Error() =\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

// TestExitErrorKeepsTheLastStderrLines runs a command printing 30 lines of
// stderr, blank lines between them, on the real local runner: the error
// keeps the last StderrTailLines non-blank ones, trimmed, for a summary
// or a log, and its message shows only the last.
func TestExitErrorKeepsTheLastStderrLines(t *testing.T) {
	script := `for i in $(seq 1 30); do echo "  line $i " >&2; echo >&2; done; echo 'tar: Error is not recoverable: exiting now' >&2; exit 2`
	err := host.NewLocal().Run(context.Background(), host.Cmd{Argv: []string{"sh", "-c", script}})
	var exit *host.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("err = %v, want *host.ExitError", err)
	}
	var want []string
	for i := 12; i <= 30; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	want = append(want, "tar: Error is not recoverable: exiting now")
	if got := strings.Split(exit.StderrTail, "\n"); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != host.StderrTailLines {
		t.Errorf("StderrTail = %q, want the last %d lines %q", got, host.StderrTailLines, want)
	}
	if !strings.HasSuffix(err.Error(), ": exit status 2: tar: Error is not recoverable: exiting now") {
		t.Errorf("message = %q", err.Error())
	}
}
