package console_test

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/console"
)

// openPTY opens a pseudo-terminal pair: the console writes to the
// terminal side (tty), the test reads what it drew from the other (ptmx).
func openPTY(t *testing.T, cols uint16) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: cols}); err != nil {
		t.Fatalf("set pty size: %v", err)
	}
	return ptmx, tty
}

// TestAutoDetectsRealTerminal writes to a real pseudo-terminal: Auto picks
// the timeline and the terminal's width.
func TestAutoDetectsRealTerminal(t *testing.T) {
	ptmx, tty := openPTY(t, 50)
	t.Setenv("NO_COLOR", "1")
	clk := newClock()
	c := console.New(tty, console.Options{Now: clk.Now, Interval: time.Hour})
	if !c.TTY() {
		t.Fatal("a pseudo-terminal was not detected as a terminal")
	}
	read := make(chan string, 1)
	go func() {
		var b strings.Builder
		r := bufio.NewReader(ptmx)
		for !strings.Contains(b.String(), "\x1b[?25h") {
			l, err := r.ReadString('\n')
			b.WriteString(l)
			if err != nil {
				break
			}
		}
		read <- b.String()
	}()
	c.Observe(deploy.Event{Kind: deploy.EventPhaseStarted, Phase: "pull"})
	c.Observe(deploy.Event{Kind: deploy.EventProgress, Phase: "pull", Message: strings.Repeat("x", 80)})
	c.Observe(deploy.Event{Kind: deploy.EventPhaseFinished, Phase: "pull", Duration: time.Second})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(tty) // end the last line for the reader
	var out string
	select {
	case out = <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing read from the pty")
	}
	if strings.Contains(out, "\x1b[3") {
		t.Error("NO_COLOR set, colours written")
	}
	if !strings.Contains(out, "✓ pull") {
		t.Errorf("final line missing: %q", out)
	}
	for _, l := range strings.Split(ansi.ReplaceAllString(out, ""), "\n") {
		if n := len([]rune(strings.Trim(l, "\r"))); n > 49 {
			t.Errorf("line of %d columns on a 50-column terminal: %q", n, l)
		}
	}
}
