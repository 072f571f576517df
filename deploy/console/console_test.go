package console_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/console"
)

var (
	ansi   = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	escape = regexp.MustCompile(`^\x1b\[(\??)([0-9;]*)([A-Za-z])`)
)

func TestPlainGolden(t *testing.T) {
	for name, sc := range scenarios {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			var out bytes.Buffer
			c := console.New(&out, console.Options{TTY: console.Off, Color: console.On, Now: clk.Now})
			runScenario(t, clk, sc, c.Observe, 0)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if ansi.MatchString(out.String()) || strings.Contains(out.String(), "\x1b") {
				t.Errorf("plain mode wrote ANSI codes:\n%q", out.String())
			}
			golden(t, "plain-"+name+".golden", out.String())
		})
	}
}

func TestPlainLineFormat(t *testing.T) {
	clk := newClock()
	var out bytes.Buffer
	c := console.New(&out, console.Options{Now: clk.Now}) // a buffer: plain
	if c.TTY() {
		t.Fatal("a bytes.Buffer was taken for a terminal")
	}
	c.Observe(deploy.Event{Kind: deploy.EventPhaseStarted, Phase: "health"})
	clk.Advance(12300 * time.Millisecond)
	c.Observe(deploy.Event{Kind: deploy.EventProgress, Phase: "health", Message: "attempt 3: 200 OK"})
	want := "[   0.0s] health    started\n[  12.3s] health    attempt 3: 200 OK\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestRedactAndSanitize(t *testing.T) {
	var out bytes.Buffer
	c := console.New(&out, console.Options{TTY: console.Off, Redact: strings.NewReplacer("hunter2", "***").Replace})
	c.Observe(deploy.Event{Kind: deploy.EventPhaseFinished, Phase: "backup", Err: errors.New("pg_dump postgres://app:hunter2@db/app: \x1b[31mrefused\x1b[0m")})
	c.Observe(deploy.Event{Kind: deploy.EventProgress, Phase: "backup", Message: "token hunter2\rx"})
	got := out.String()
	if strings.Contains(got, "hunter2") {
		t.Errorf("secret in output: %q", got)
	}
	if strings.Contains(got, "\x1b") || strings.Contains(got, "\r") {
		t.Errorf("control characters from messages reached the output: %q", got)
	}
	if !strings.Contains(got, "postgres://app:***@db/app: refused") {
		t.Errorf("error text lost: %q", got)
	}
}

// screen is a tiny terminal emulator: enough of VT100 for the console's
// output (CR, LF as CR+LF, CUU, ED, EL, SGR and cursor visibility ignored).
type screen struct {
	lines   [][]rune
	row     int
	col     int
	maxCol  int
	visible bool
}

func (s *screen) feed(t *testing.T, out string) {
	t.Helper()
	s.visible = true
	for i := 0; i < len(out); {
		if out[i] == 0x1b {
			m := escape.FindStringSubmatch(out[i : i+min(16, len(out)-i)])
			if m == nil {
				t.Fatalf("unknown escape at %q", out[i:min(len(out), i+10)])
			}
			i += len(m[0])
			n := 1
			fmt.Sscanf(m[2], "%d", &n)
			switch m[3] {
			case "A":
				s.row -= n
				if s.row < 0 {
					t.Fatalf("cursor moved above the first line")
				}
			case "J":
				s.grow()
				s.lines[s.row] = s.lines[s.row][:min(s.col, len(s.lines[s.row]))]
				s.lines = s.lines[:s.row+1]
			case "K":
				s.grow()
				s.lines[s.row] = s.lines[s.row][:min(s.col, len(s.lines[s.row]))]
			case "l":
				s.visible = false
			case "h":
				s.visible = true
			case "m":
			default:
				t.Fatalf("unexpected escape %q", m[0])
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(out[i:])
		i += size
		switch r {
		case '\r':
			s.col = 0
		case '\n':
			s.row, s.col = s.row+1, 0
		default:
			s.grow()
			for len(s.lines[s.row]) < s.col {
				s.lines[s.row] = append(s.lines[s.row], ' ')
			}
			if s.col < len(s.lines[s.row]) {
				s.lines[s.row][s.col] = r
			} else {
				s.lines[s.row] = append(s.lines[s.row], r)
			}
			s.col++
			s.maxCol = max(s.maxCol, s.col)
		}
	}
}

func (s *screen) grow() {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
}

func (s *screen) String() string {
	var b strings.Builder
	for _, l := range s.lines {
		b.WriteString(strings.TrimRight(string(l), " "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func TestTTYTimeline(t *testing.T) {
	clk := newClock()
	var out syncBuffer
	const width = 60
	c := console.New(&out, console.Options{TTY: console.On, Color: console.Off, Width: width, Now: clk.Now, Interval: 2 * time.Millisecond})
	d := runScenario(t, clk, smokeFails, c.Observe, 60*time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	raw := out.String()
	frames := 0
	for _, f := range []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"} {
		if strings.Contains(raw, f) {
			frames++
		}
	}
	if frames < 3 {
		t.Errorf("spinner drew %d distinct braille frames in 60ms at a 2ms interval, want >= 3", frames)
	}
	if !strings.Contains(raw, "\x1b[1A\x1b[J") {
		t.Errorf("live line never redrawn in place:\n%q", raw)
	}
	if strings.Contains(raw, "\x1b[3") {
		t.Errorf("Color Off wrote colours")
	}
	var s screen
	s.feed(t, raw)
	if !s.visible {
		t.Error("cursor left hidden after Close")
	}
	if s.maxCol > width-1 {
		t.Errorf("a line reached column %d, want < %d (wrapped lines break the redraw)", s.maxCol, width)
	}
	golden(t, "tty-rolled-back.golden", s.String())

	// The spinner goroutine is stopped: nothing is written after Close.
	n := out.Len()
	time.Sleep(20 * time.Millisecond)
	if out.Len() != n {
		t.Error("output written after Close")
	}
	var sum bytes.Buffer
	if err := console.Summary(&sum, d); err != nil {
		t.Fatal(err)
	}
}

func TestTTYColoursAndTruncation(t *testing.T) {
	clk := newClock()
	var out syncBuffer
	c := console.New(&out, console.Options{TTY: console.On, Color: console.On, Width: 40, Now: clk.Now, Interval: time.Hour})
	c.Observe(deploy.Event{Kind: deploy.EventPhaseStarted, Phase: "start"})
	c.Observe(deploy.Event{Kind: deploy.EventProgress, Phase: "start", Message: strings.Repeat("pulling layer ", 20)})
	c.Observe(deploy.Event{Kind: deploy.EventWarning, Phase: "start", Message: "image is 2 GiB"})
	clk.Advance(1500 * time.Millisecond)
	c.Observe(deploy.Event{Kind: deploy.EventPhaseFinished, Phase: "start", Duration: 1500 * time.Millisecond, Err: errors.New("pull failed: manifest unknown")})
	c.Observe(deploy.Event{Kind: console.EventPhaseSkipped, Phase: "switch"})
	c.Observe(deploy.Event{Kind: deploy.EventPhaseStarted, Phase: "notify"})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	raw := out.String()
	for _, want := range []string{"\x1b[31m✗", "\x1b[33m⚠ image is 2 GiB", "\x1b[36m⠋", "\x1b[?25l", "\x1b[?25h", "…"} {
		if !strings.Contains(raw, want) {
			t.Errorf("output lacks %q:\n%q", want, raw)
		}
	}
	var s screen
	s.feed(t, raw)
	if s.maxCol > 39 {
		t.Errorf("line reached column %d at width 40", s.maxCol)
	}
	want := "⚠ image is 2 GiB\n" +
		"✗ start            1.5s  pull failed: …\n" +
		"– switch                 skipped\n" +
		"· notify           0.0s\n"
	if got := s.String(); got != want {
		t.Errorf("screen:\n%s\nwant:\n%s", got, want)
	}
}

func TestTTYDetection(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if console.New(f, console.Options{}).TTY() {
		t.Error("a regular file was taken for a terminal")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if console.New(null, console.Options{}).TTY() {
		t.Error("/dev/null (a character device, not a terminal) was taken for a terminal")
	}
	if !console.New(f, console.Options{TTY: console.On}).TTY() {
		t.Error("TTY: On ignored")
	}
}

// TestObserveConcurrent hammers Observe from many goroutines while the
// spinner redraws (run with -race).
func TestObserveConcurrent(t *testing.T) {
	for _, tty := range []console.Toggle{console.On, console.Off} {
		var out syncBuffer
		c := console.New(&out, console.Options{TTY: tty, Interval: time.Millisecond})
		const goroutines, events = 16, 100
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				phase := fmt.Sprintf("phase%02d", g)
				c.Observe(deploy.Event{Kind: deploy.EventPhaseStarted, Phase: phase})
				for i := range events {
					c.Observe(deploy.Event{Kind: deploy.EventProgress, Phase: phase, Message: fmt.Sprintf("step %d", i)})
				}
				c.Observe(deploy.Event{Kind: deploy.EventPhaseFinished, Phase: phase, Duration: time.Second})
			}()
		}
		wg.Wait()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if tty == console.Off {
			if got, want := strings.Count(out.String(), "\n"), goroutines*(events+2); got != want {
				t.Errorf("plain mode wrote %d lines for %d events", got, want)
			}
			continue
		}
		var s screen
		s.feed(t, out.String())
		if got := strings.Count(s.String(), "✓ phase"); got != goroutines {
			t.Errorf("screen shows %d finished phases, want %d:\n%s", got, goroutines, s.String())
		}
		if strings.ContainsAny(s.String(), "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") {
			t.Errorf("a spinner is left on screen:\n%s", s.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the spinner goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorReturnedByClose(t *testing.T) {
	c := console.New(failingWriter{}, console.Options{TTY: console.Off})
	c.Observe(deploy.Event{Kind: deploy.EventPhaseStarted, Phase: "lock"})
	if err := c.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close() = %v, want the write error", err)
	}
}

// TestTTYNarrowTerminal: on a terminal narrower than a line's fixed part no
// line wraps (a wrapped live line would break the in-place redraw).
func TestTTYNarrowTerminal(t *testing.T) {
	clk := newClock()
	var out syncBuffer
	c := console.New(&out, console.Options{TTY: console.On, Color: console.On, Width: 12, Now: clk.Now, Interval: time.Hour})
	d := runScenario(t, clk, undoFails, c.Observe, 0)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var s screen
	s.feed(t, out.String())
	if s.maxCol > 11 {
		t.Errorf("line reached column %d at width 12:\n%s", s.maxCol, s.String())
	}
	if !strings.Contains(s.String(), "✗ smoke   …") || d.Outcome != deploy.OutcomeRollbackFailed {
		t.Errorf("screen:\n%s", s.String())
	}
}
