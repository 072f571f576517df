package console

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// Toggle is a setting that is detected unless forced.
type Toggle int

// Toggle values. The zero value is Auto.
const (
	Auto Toggle = iota // detect from the writer and the environment
	On                 // force on
	Off                // force off
)

// EventPhaseSkipped is the pipeline's event for a phase not run because an
// earlier one failed; the console shows it as –.
const EventPhaseSkipped = deploy.EventPhaseSkipped

// DefaultWidth is the line width used when the terminal's is unknown.
const DefaultWidth = 100

// Options configure a Console. The zero Options detect everything.
type Options struct {
	// TTY selects the live timeline (On) or one plain line per event (Off).
	// Auto (default) picks the timeline when the writer is an *os.File that
	// is a terminal.
	TTY Toggle
	// Color uses ANSI colours in TTY mode. Auto (default) means on unless the
	// NO_COLOR environment variable is set or TERM is "dumb". Plain mode
	// never writes ANSI codes.
	Color Toggle
	// Width bounds the live lines (default: the terminal's width, else
	// DefaultWidth).
	Width int
	// Now is time.Now unless set; it gives the time of events that carry
	// none and the elapsed time of running phases.
	Now func() time.Time
	// Interval is the spinner's frame interval (default 100ms).
	Interval time.Duration
	// Redact, when set, is applied to every message and error before it is
	// written (mask secrets the libraries could not know about).
	Redact func(string) string
}

// Console draws a deployment's events. Create it with New, pass Observe to
// deploy.Deployment.Observe, and Close it when the deployment ends.
type Console struct {
	w        io.Writer
	tty      bool
	paint    painter
	width    int
	now      func() time.Time
	interval time.Duration
	redact   func(string) string

	mu      sync.Mutex
	start   time.Time // time of the first event
	started bool
	rows    []*row // running phases and undo steps, oldest first
	drawn   int    // live lines on screen below the permanent output
	frame   int
	hidden  bool // cursor hidden
	closed  bool
	ticking bool
	stop    chan struct{}
	done    chan struct{}
	err     error // first write error
}

// row is a running phase or undo step.
type row struct {
	phase string
	undo  bool
	start time.Time
	msg   string
}

func (r *row) label() string {
	if r.undo {
		return "undo " + r.phase
	}
	return r.phase
}

// New returns a Console writing to w.
func New(w io.Writer, opts Options) *Console {
	c := &Console{
		w:        w,
		now:      opts.Now,
		interval: opts.Interval,
		redact:   opts.Redact,
		width:    opts.Width,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.interval <= 0 {
		c.interval = 100 * time.Millisecond
	}
	if c.redact == nil {
		c.redact = func(s string) string { return s }
	}
	f, isFile := w.(*os.File)
	switch opts.TTY {
	case On:
		c.tty = true
	case Auto:
		c.tty = isFile && isTerminal(f)
	}
	switch opts.Color {
	case On:
		c.paint = true
	case Auto:
		_, noColor := os.LookupEnv("NO_COLOR")
		c.paint = painter(!noColor && os.Getenv("TERM") != "dumb")
	}
	if !c.tty {
		c.paint = false
	}
	if c.width <= 0 && isFile && c.tty {
		c.width = terminalWidth(f)
	}
	if c.width <= 0 {
		c.width = DefaultWidth
	}
	return c
}

// TTY reports whether the console draws the live timeline.
func (c *Console) TTY() bool { return c.tty }

// Observe draws one event. It is safe for concurrent use; pass it to
// deploy.Deployment.Observe.
func (c *Console) Observe(e deploy.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := e.Time
	if t.IsZero() {
		t = c.now()
	}
	if !c.started {
		c.start, c.started = t, true
	}
	e.Message = sanitize(c.redact(e.Message))
	if c.tty {
		c.observeTTY(e, t)
		return
	}
	c.observePlain(e, t)
}

// errText is the redacted text of err.
func (c *Console) errText(err error) string {
	if err == nil {
		return ""
	}
	return sanitize(c.redact(err.Error()))
}

func (c *Console) write(s string) {
	if c.err != nil || s == "" {
		return
	}
	if _, err := io.WriteString(c.w, s); err != nil {
		c.err = fmt.Errorf("console: write: %w", err)
	}
}

// plainPhaseWidth is the width of the phase column in plain mode.
const plainPhaseWidth = 9

func (c *Console) observePlain(e deploy.Event, t time.Time) {
	var text string
	switch e.Kind {
	case deploy.EventPhaseStarted:
		text = "started"
	case deploy.EventPhaseFinished:
		if e.Err != nil {
			text = fmt.Sprintf("%s failed after %s: %s", glyphFailed, formatDuration(e.Duration), c.errText(e.Err))
		} else {
			text = fmt.Sprintf("%s done in %s", glyphOK, formatDuration(e.Duration))
		}
	case deploy.EventUndoStarted:
		text = glyphUndone + " undo started"
	case deploy.EventUndoFinished:
		if e.Err != nil {
			text = fmt.Sprintf("%s undo failed after %s: %s", glyphFailed, formatDuration(e.Duration), c.errText(e.Err))
		} else {
			text = fmt.Sprintf("%s undone in %s", glyphUndone, formatDuration(e.Duration))
		}
	case deploy.EventWarning:
		text = glyphWarning + " " + e.Message
	case EventPhaseSkipped:
		text = glyphSkipped + " skipped"
	case deploy.EventProgress:
		text = e.Message
	default:
		text = strings.TrimSpace(string(e.Kind) + " " + e.Message)
	}
	phase := e.Phase
	switch e.Kind {
	case deploy.EventPhaseStarted, deploy.EventUndoStarted:
		c.rows = append(c.rows, &row{phase: e.Phase, undo: e.Kind == deploy.EventUndoStarted, start: t})
	case deploy.EventPhaseFinished, deploy.EventUndoFinished:
		c.take(e.Phase, e.Kind == deploy.EventUndoFinished)
	case deploy.EventProgress, deploy.EventWarning:
		if r := c.find(e.Phase); r != nil {
			phase = r.phase
		}
	}
	prefix := fmt.Sprintf("[%6.1fs] %s ", t.Sub(c.start).Seconds(), pad(phase, plainPhaseWidth))
	var b strings.Builder
	for _, l := range lines(text) {
		b.WriteString(prefix)
		b.WriteString(l)
		b.WriteByte('\n')
	}
	c.write(b.String())
}

// labelWidth is the width of the phase column in TTY mode and the summary.
const labelWidth = 14

func (c *Console) observeTTY(e deploy.Event, t time.Time) {
	var above []string
	switch e.Kind {
	case deploy.EventPhaseStarted, deploy.EventUndoStarted:
		c.rows = append(c.rows, &row{phase: e.Phase, undo: e.Kind == deploy.EventUndoStarted, start: t})
		c.startTicker()
	case deploy.EventPhaseFinished, deploy.EventUndoFinished:
		undo := e.Kind == deploy.EventUndoFinished
		r := c.take(e.Phase, undo)
		d := e.Duration
		if d == 0 && r != nil {
			d = t.Sub(r.start)
		}
		label := e.Phase
		if undo {
			label = "undo " + e.Phase
		}
		glyph, sgr := glyphOK, sgrGreen
		if undo {
			glyph, sgr = glyphUndone, sgrYellow
		}
		if e.Err != nil {
			glyph, sgr = glyphFailed, sgrRed
		}
		above = append(above, c.finishedLine(glyph, sgr, label, formatDuration(d), firstLine(c.errText(e.Err))))
	case EventPhaseSkipped:
		above = append(above, c.finishedLine(glyphSkipped, sgrDim, e.Phase, "", "skipped"))
	case deploy.EventWarning:
		for i, l := range lines(e.Message) {
			g := "  "
			if i == 0 {
				g = glyphWarning + " "
			}
			above = append(above, c.paint.paint(sgrYellow, truncate(g+l, c.width-1)))
		}
	case deploy.EventProgress:
		ls := lines(e.Message)
		r := c.find(e.Phase)
		switch {
		case len(ls) == 1 && r != nil:
			r.msg = ls[0]
		default:
			for _, l := range ls {
				above = append(above, truncate("    "+l, c.width-1))
			}
		}
	default:
		if m := strings.TrimSpace(string(e.Kind) + " " + e.Message); m != "" {
			above = append(above, truncate("  "+m, c.width-1))
		}
	}
	c.redraw(above, false)
}

// take removes and returns the running row for phase (nil if none).
func (c *Console) take(phase string, undo bool) *row {
	for i := len(c.rows) - 1; i >= 0; i-- {
		if r := c.rows[i]; r.phase == phase && r.undo == undo {
			c.rows = append(c.rows[:i], c.rows[i+1:]...)
			return r
		}
	}
	return nil
}

// find returns the running row a progress message of phase belongs to: the
// newest with that phase, else the newest running row (progress during an
// undo step carries the failed phase's name).
func (c *Console) find(phase string) *row {
	for i := len(c.rows) - 1; i >= 0; i-- {
		if c.rows[i].phase == phase {
			return c.rows[i]
		}
	}
	if len(c.rows) > 0 {
		return c.rows[len(c.rows)-1]
	}
	return nil
}

// finishedLine renders a finished phase: glyph, label, duration, note.
func (c *Console) finishedLine(glyph, sgr, label, dur, note string) string {
	head := glyph + " " + pad(label, labelWidth) + " " + fmt.Sprintf("%6s", dur)
	if len([]rune(head)) > c.width-1 { // a very narrow terminal: no colours, cut
		return truncate(head, c.width-1)
	}
	budget := c.width - 1 - len([]rune(head)) - 2
	s := c.paint.paint(sgr, glyph) + " " + pad(label, labelWidth) + " " + c.paint.paint(sgrDim, fmt.Sprintf("%6s", dur))
	if note != "" && budget > 0 {
		note = truncate(note, budget)
		if glyph == glyphFailed {
			note = c.paint.paint(sgrRed, note)
		}
		s += "  " + note
	}
	return s
}

// liveLine renders a running row with the current spinner frame.
func (c *Console) liveLine(r *row, glyph string, now time.Time) string {
	el := fmt.Sprintf("%6s", formatDuration(now.Sub(r.start)))
	head := glyph + " " + pad(r.label(), labelWidth) + " " + el
	if len([]rune(head)) > c.width-1 { // a very narrow terminal: no colours, cut
		return truncate(head, c.width-1)
	}
	s := c.paint.paint(sgrCyan, glyph) + " " + pad(r.label(), labelWidth) + " " + c.paint.paint(sgrDim, el)
	if budget := c.width - 1 - len([]rune(head)) - 2; r.msg != "" && budget > 0 {
		s += "  " + truncate(r.msg, budget)
	}
	return s
}

// redraw erases the live lines, prints above as permanent output and draws
// the live lines again. Lines are kept shorter than the width so none wraps
// and the cursor arithmetic holds. Once closed, the live lines are drawn
// only by the final redraw, frozen.
func (c *Console) redraw(above []string, final bool) {
	var b strings.Builder
	if !c.hidden && !c.closed && (len(c.rows) > 0 || c.drawn > 0) {
		b.WriteString("\x1b[?25l") // hide the cursor while the spinner runs
		c.hidden = true
	}
	if c.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA\x1b[J", c.drawn)
	}
	for _, l := range above {
		b.WriteString(l)
		b.WriteString("\x1b[K\n")
	}
	now := c.now()
	glyph := spinnerFrames[c.frame%len(spinnerFrames)]
	if c.closed {
		glyph = glyphFrozen
	}
	if !c.closed || final {
		for _, r := range c.rows {
			b.WriteString(c.liveLine(r, glyph, now))
			b.WriteString("\x1b[K\n")
		}
	}
	c.drawn = len(c.rows)
	if c.closed {
		c.drawn = 0 // frozen: never erased or redrawn
	}
	if c.closed && c.hidden {
		b.WriteString("\x1b[?25h")
		c.hidden = false
	}
	c.write(b.String())
}

// startTicker starts the spinner goroutine once (TTY mode, not closed).
func (c *Console) startTicker() {
	if c.ticking || c.closed {
		return
	}
	c.ticking = true
	go func() {
		defer close(c.done)
		t := time.NewTicker(c.interval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				c.mu.Lock()
				if !c.closed && len(c.rows) > 0 {
					c.frame++
					c.redraw(nil, false)
				}
				c.mu.Unlock()
			}
		}
	}()
}

// Close stops the spinner, leaves phases still running drawn with a dot,
// shows the cursor again and returns the first error writing to w. It is
// safe to call more than once; events observed after Close are still
// written, without animation.
func (c *Console) Close() error {
	c.mu.Lock()
	if c.closed {
		defer c.mu.Unlock()
		return c.err
	}
	c.closed = true
	ticking := c.ticking
	c.mu.Unlock()
	close(c.stop)
	if ticking {
		<-c.done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty && (c.drawn > 0 || c.hidden) {
		c.redraw(nil, true)
	}
	return c.err
}

// Summary closes the console and writes the deployment's summary (see
// the package-level Summary) to its writer after a blank line, coloured in
// TTY mode and with Options.Redact applied.
func (c *Console) Summary(d *deploy.Deployment) error {
	if err := c.Close(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		c.write("\n") // a blank line between the timeline and the summary
	}
	if c.err != nil {
		return c.err
	}
	return writeSummary(c.w, d, c.paint, c.redact)
}
