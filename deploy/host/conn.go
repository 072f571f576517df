package host

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// deadlineConn gives a stream without deadlines (an SSH channel) the
// deadline behaviour of net.Conn: a Read or Write past its deadline returns
// an error wrapping os.ErrDeadlineExceeded (a net.Error whose Timeout is
// true) instead of blocking. Reads are served by one goroutine reading
// ahead a chunk at a time; a Write that times out may still be delivered
// later, as with any net.Conn, so treat a write timeout as fatal.
type deadlineConn struct {
	inner         net.Conn // Read, Write, Close (and CloseWrite) are used
	laddr, raddr  net.Addr
	reads         chan readResult
	closed        chan struct{}
	closeOnce     sync.Once
	rdl, wdl      *deadline
	readMu        sync.Mutex // serialises Read; guards pending and readErr
	pending       []byte
	readErr       error
	writeMu       sync.Mutex // serialises Write; guards writeDone
	writeDone     chan writeResult
	readBufferLen int
}

type readResult struct {
	b   []byte
	err error
}

type writeResult struct {
	n   int
	err error
}

func newDeadlineConn(inner net.Conn, laddr, raddr net.Addr) *deadlineConn {
	c := &deadlineConn{
		inner:         inner,
		laddr:         laddr,
		raddr:         raddr,
		reads:         make(chan readResult),
		closed:        make(chan struct{}),
		rdl:           newDeadline(),
		wdl:           newDeadline(),
		readBufferLen: 32 << 10,
	}
	go c.readLoop()
	return c
}

func (c *deadlineConn) readLoop() {
	for {
		buf := make([]byte, c.readBufferLen)
		n, err := c.inner.Read(buf)
		select {
		case c.reads <- readResult{buf[:n], err}:
		case <-c.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for len(c.pending) == 0 {
		if c.readErr != nil {
			return 0, c.readErr
		}
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
		}
		if c.rdl.expired() {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case r := <-c.reads:
			c.pending, c.readErr = r.b, r.err
		case <-c.rdl.wait():
			return 0, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if isClosedChan(c.closed) {
		return 0, net.ErrClosed
	}
	// A write that timed out earlier may still be in flight: wait for it
	// so bytes are never reordered.
	if c.writeDone != nil {
		select {
		case r := <-c.writeDone:
			c.writeDone = nil
			if r.err != nil {
				return 0, r.err
			}
		case <-c.wdl.wait():
			return 0, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	if c.wdl.expired() {
		return 0, os.ErrDeadlineExceeded
	}
	done := make(chan writeResult, 1)
	buf := append([]byte(nil), p...) // p may be reused once we return
	go func() {
		n, err := c.inner.Write(buf)
		done <- writeResult{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-c.wdl.wait():
		c.writeDone = done
		return 0, os.ErrDeadlineExceeded
	case <-c.closed:
		return 0, net.ErrClosed
	}
}

func (c *deadlineConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.inner.Close()
		if err == io.EOF {
			err = nil
		}
	})
	return err
}

// CloseWrite half-closes the connection (EOF to the remote end) while
// reads continue, as *net.TCPConn and *net.UnixConn do.
func (c *deadlineConn) CloseWrite() error {
	if cw, ok := c.inner.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *deadlineConn) LocalAddr() net.Addr  { return c.laddr }
func (c *deadlineConn) RemoteAddr() net.Addr { return c.raddr }

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.rdl.set(t); return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.wdl.set(t); return nil }

// deadline is a settable point in time with a channel closed when it
// passes (the pattern of net.Pipe's pipeDeadline).
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline passes
}

func newDeadline() *deadline { return &deadline{cancel: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait for its close, then renew
	}
	d.timer = nil
	closed := isClosedChan(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		ch := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(ch) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func (d *deadline) expired() bool { return isClosedChan(d.wait()) }

func isClosedChan(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
