package host

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// blockingConn's Write blocks until the conn is closed, like an SSH
// channel whose window the peer never opens.
type blockingConn struct {
	net.Conn
	closed chan struct{}
}

func (c *blockingConn) Write(p []byte) (int, error) { <-c.closed; return 0, io.ErrClosedPipe }
func (c *blockingConn) Close() error                { close(c.closed); return c.Conn.Close() }

func TestDeadlineConn(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	inner := &blockingConn{Conn: a, closed: make(chan struct{})}
	c := newDeadlineConn(inner, sshAddr{"tcp", "l"}, sshAddr{"tcp", "r"})

	// Read deadline in the past fails at once; a future one times out.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Errorf("read timed out after %s", d)
	}

	// Clearing the deadline makes reads work again, data in order.
	c.SetReadDeadline(time.Time{})
	go b.Write([]byte("hello"))
	buf := make([]byte, 2)
	got := ""
	for len(got) < 5 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got += string(buf[:n])
	}
	if got != "hello" {
		t.Errorf("read %q", got)
	}

	// A write that cannot complete times out.
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("write: %v", err)
	}
	var ne net.Error
	c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := c.Write([]byte("y")); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("second write: %v, want a timeout net.Error", err)
	}

	if c.RemoteAddr().String() != "r" || c.LocalAddr().Network() != "tcp" {
		t.Errorf("addrs %v %v", c.LocalAddr(), c.RemoteAddr())
	}
	// Close unblocks everything; later calls report net.ErrClosed.
	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if _, err := c.Write(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestDeadlineConnEOF(t *testing.T) {
	a, b := net.Pipe()
	c := newDeadlineConn(a, nil, nil)
	defer c.Close()
	go func() { b.Write([]byte("bye")); b.Close() }()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
}
