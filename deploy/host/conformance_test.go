package host_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// TestConformance runs one table of behaviours against every Host
// implementation: what passes on Local must pass on the unit tests' fake
// host (hosttest.Fake) and over SSH, with commands
// framed through the shared shell ("ssh") and with a session per command
// ("ssh per-command"). Each case gets its own SSH connection, so its
// commands go through that connection's shared shell rather than falling
// back to sessions of their own while another case holds it.
func TestConformance(t *testing.T) {
	t.Parallel()
	sshMode := func(mode string) func(t *testing.T) func(t *testing.T) host.Host {
		return func(t *testing.T) func(t *testing.T) host.Host {
			d := hosttest.StartSSHD(t, hosttest.SSHDOptions{})
			cfg := d.Config()
			cfg.Sessions = mode
			return func(t *testing.T) host.Host {
				h := d.Connect(cfg)
				if mode == host.SessionsShared {
					t.Cleanup(func() {
						// One session for the shared shell, more only for
						// kills and commands with streamed stdin.
						if n := h.SessionsOpened(); n > 3 && !t.Failed() {
							t.Errorf("the case opened %d SSH sessions; the shared shell was not used", n)
						}
					})
				}
				return h
			}
		}
	}
	impls := []struct {
		name string
		new  func(t *testing.T) func(t *testing.T) host.Host
	}{
		{"local", func(*testing.T) func(*testing.T) host.Host {
			return func(*testing.T) host.Host { return host.NewLocal() }
		}},
		// The fake host of the unit tests runs what is not docker,
		// compose or nginx on this machine: it must behave as Local does.
		{"fake", func(*testing.T) func(*testing.T) host.Host {
			return func(t *testing.T) host.Host { return hosttest.NewFake(t) }
		}},
		{"ssh", sshMode(host.SessionsShared)},
		{"ssh per-command", sshMode(host.SessionsPerCommand)},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			connect := impl.new(t)
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, connect(t))
				})
			}
		})
	}
}

// countRuns counts the commands run through it.
type countRuns struct {
	host.Runner
	n int
}

func (c *countRuns) Run(ctx context.Context, cmd host.Cmd) error {
	c.n++
	return c.Runner.Run(ctx, cmd)
}

type conformanceCase struct {
	name string
	run  func(t *testing.T, h host.Host)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var conformanceCases = []conformanceCase{
	{"exit 0", func(t *testing.T, h host.Host) {
		out, err := host.Output(testCtx(t), h, "echo", "hello", "wide world")
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "hello wide world\n" {
			t.Errorf("stdout = %q", out)
		}
	}},
	{"exit 3 with stderr tail", func(t *testing.T, h host.Host) {
		var stderr bytes.Buffer
		script := `for i in $(seq 1 2000); do echo "noise line $i" >&2; done; echo "the last words" >&2; exit 3`
		err := h.Run(testCtx(t), host.Cmd{Argv: []string{"sh", "-c", script}, Stderr: &stderr})
		var exit *host.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("err = %v, want *ExitError", err)
		}
		if exit.Code != 3 {
			t.Errorf("code = %d, want 3", exit.Code)
		}
		if exit.Host != h.Name() {
			t.Errorf("host = %q, want %q", exit.Host, h.Name())
		}
		if !strings.HasSuffix(exit.StderrTail, "the last words") || len(exit.StderrTail) > 4096 {
			t.Errorf("stderr tail (%d bytes) ends %q", len(exit.StderrTail), exit.StderrTail[max(0, len(exit.StderrTail)-40):])
		}
		if !strings.Contains(stderr.String(), "noise line 1\n") {
			t.Errorf("caller's Stderr did not get the whole stream")
		}
	}},
	{"exit 127 command not found", func(t *testing.T, h host.Host) {
		err := h.Run(testCtx(t), host.Cmd{Argv: []string{"blueshift-no-such-command", "x"}})
		var exit *host.ExitError
		if !errors.As(err, &exit) || exit.Code != 127 {
			t.Fatalf("err = %v, want *ExitError code 127", err)
		}
		if !errors.Is(err, host.ErrCommandNotFound) {
			t.Errorf("errors.Is(err, ErrCommandNotFound) = false for %v", err)
		}
	}},
	{"killed by signal is 128+N", func(t *testing.T, h host.Host) {
		err := h.Run(testCtx(t), host.Cmd{Argv: []string{"sh", "-c", "kill -TERM $$"}})
		var exit *host.ExitError
		if !errors.As(err, &exit) || exit.Code != 128+15 {
			t.Fatalf("err = %v, want *ExitError code 143", err)
		}
	}},
	{"stdin streamed 8MiB", func(t *testing.T, h host.Host) {
		data := make([]byte, 8<<20)
		rand.Read(data)
		sum := sha256.Sum256(data)
		var out bytes.Buffer
		err := h.Run(testCtx(t), host.Cmd{Argv: []string{"sha256sum"}, Stdin: bytes.NewReader(data), Stdout: &out})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Fields(out.String())[0], hex.EncodeToString(sum[:]); got != want {
			t.Errorf("remote sha256 = %s, want %s", got, want)
		}
	}},
	{"stdin closed at EOF", func(t *testing.T, h host.Host) {
		out, err := runOut(t, h, host.Cmd{Argv: []string{"wc", "-c"}, Stdin: strings.NewReader("12345")})
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) != "5" {
			t.Errorf("wc -c = %q", out)
		}
	}},
	{"large output 20MiB", func(t *testing.T, h host.Host) {
		n, err := countingRun(t, h, []string{"head", "-c", "20971520", "/dev/zero"})
		if err != nil {
			t.Fatal(err)
		}
		if n != 20<<20 {
			t.Errorf("got %d bytes, want %d", n, 20<<20)
		}
	}},
	{"dir and env with tricky values", func(t *testing.T, h host.Host) {
		dir := t.TempDir()
		sub := filepath.Join(dir, "it's a $dir")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		tricky := "it's \"quoted\" $HOME `x` \\ ;&|\nsecond line"
		out, err := runOut(t, h, host.Cmd{
			Argv: []string{"sh", "-c", `pwd; printf '%s|%s' "$BLUESHIFT_A" "$BLUESHIFT_EMPTY"`},
			Dir:  sub,
			Env:  []string{"BLUESHIFT_A=" + tricky, "BLUESHIFT_EMPTY="},
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := sub + "\n" + tricky + "|"; out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	}},
	{"missing dir is an error naming it", func(t *testing.T, h host.Host) {
		dir := filepath.Join(t.TempDir(), "no such dir")
		err := h.Run(testCtx(t), host.Cmd{Argv: []string{"true"}, Dir: dir})
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("err = %v, want an error naming %s", err, dir)
		}
	}},
	{"argv passed verbatim", func(t *testing.T, h host.Host) {
		args := []string{"", "a b", "it's", "$HOME", "*", "~", "#x", "a=b", "line\nbreak", "-n", `\`, "'"}
		out, err := runOut(t, h, host.Cmd{Argv: append([]string{"printf", "[%s]"}, args...)})
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for _, a := range args {
			want.WriteString("[" + a + "]")
		}
		if out != want.String() {
			t.Errorf("got %q, want %q", out, want.String())
		}
	}},
	{"context cancel stops sleep", func(t *testing.T, h host.Host) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		// A unique argument finds the process afterwards (the SSH host is
		// this machine too).
		arg := fmt.Sprintf("30.%d", time.Now().UnixNano()%1e9)
		start := time.Now()
		err := h.Run(ctx, host.Cmd{Argv: []string{"sleep", arg}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Run returned after %s", d)
		}
		for i := 0; ; i++ {
			err := exec.Command("pgrep", "-f", "sleep "+arg).Run()
			if err != nil {
				break // exit 1: no such process
			}
			if i == 50 {
				t.Fatalf("sleep %s still runs 5s after Run returned", arg)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}},
	{"stdout and stderr kept apart", func(t *testing.T, h host.Host) {
		var stdout, stderr bytes.Buffer
		script := `printf out1; printf err1 >&2; printf 'out2\n'; printf 'err2\n' >&2`
		err := h.Run(testCtx(t), host.Cmd{Argv: []string{"sh", "-c", script}, Stdout: &stdout, Stderr: &stderr})
		if err != nil {
			t.Fatal(err)
		}
		if stdout.String() != "out1out2\n" || stderr.String() != "err1err2\n" {
			t.Errorf("stdout %q, stderr %q; want \"out1out2\\n\", \"err1err2\\n\"", stdout.String(), stderr.String())
		}
	}},
	{"binary stdin echoed back 3MiB", func(t *testing.T, h host.Host) {
		// Every byte value, newlines and NULs included, and no final
		// newline: stdout must be exactly stdin.
		data := make([]byte, 3<<20)
		rand.Read(data)
		for i := 0; i < 256; i++ {
			data[i] = byte(i)
		}
		out, err := runOut(t, h, host.Cmd{Argv: []string{"cat"}, Stdin: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal([]byte(out), data) {
			t.Errorf("cat returned %d bytes differing from the %d sent", len(out), len(data))
		}
	}},
	{"empty stdin", func(t *testing.T, h host.Host) {
		for _, in := range []io.Reader{nil, bytes.NewReader(nil), strings.NewReader(""), new(bytes.Buffer)} {
			out, err := runOut(t, h, host.Cmd{Argv: []string{"wc", "-c"}, Stdin: in})
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(out) != "0" {
				t.Errorf("stdin %T: wc -c = %q", in, out)
			}
		}
	}},
	{"unread stdin does not reach the next command", func(t *testing.T, h host.Host) {
		// On a framed stream, bytes the first command leaves unread must
		// not become the next command's input or header.
		big := bytes.Repeat([]byte("unread\n"), 150000)
		if err := h.Run(testCtx(t), host.Cmd{Argv: []string{"true"}, Stdin: bytes.NewReader(big)}); err != nil {
			t.Fatal(err)
		}
		if err := h.Run(testCtx(t), host.Cmd{Argv: []string{"head", "-c", "3"}, Stdin: bytes.NewReader(big)}); err != nil {
			t.Fatal(err)
		}
		out, err := runOut(t, h, host.Cmd{Argv: []string{"wc", "-c"}, Stdin: strings.NewReader("abc")})
		if err != nil || strings.TrimSpace(out) != "3" {
			t.Errorf("next command: wc -c = %q, %v; want 3", out, err)
		}
		out, err = runOut(t, h, host.Cmd{Argv: []string{"cat"}})
		if err != nil || out != "" {
			t.Errorf("nil stdin: cat = %q, %v; want empty", out, err)
		}
	}},
	{"output that looks like a frame end", func(t *testing.T, h host.Host) {
		fake := "bs-00112233445566778899aabbccddeeff 0\n"
		script := `printf '%s' "$1"; printf '%s' "$1" >&2; exit 5`
		var stdout, stderr bytes.Buffer
		err := h.Run(testCtx(t), host.Cmd{Argv: []string{"sh", "-c", script, "sh", fake}, Stdout: &stdout, Stderr: &stderr})
		var exit *host.ExitError
		if !errors.As(err, &exit) || exit.Code != 5 {
			t.Fatalf("err = %v, want *ExitError code 5", err)
		}
		if stdout.String() != fake || stderr.String() != fake {
			t.Errorf("stdout %q, stderr %q; want %q each", stdout.String(), stderr.String(), fake)
		}
		if out, err := host.Output(testCtx(t), h, "echo", "next"); err != nil || string(out) != "next\n" {
			t.Errorf("next command: %q, %v", out, err)
		}
	}},
	{"clear env", func(t *testing.T, h host.Host) {
		out, err := runOut(t, h, host.Cmd{Argv: []string{"env"}, Env: []string{"BLUESHIFT_ONLY=1"}, ClearEnv: true})
		if err != nil {
			t.Fatal(err)
		}
		if out != "BLUESHIFT_ONLY=1\n" {
			t.Errorf("env -i: got %q", out)
		}
	}},
	{"cancel mid-command then the next command runs", func(t *testing.T, h host.Host) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started := &signalWriter{match: "started", seen: make(chan struct{})}
		errc := make(chan error, 1)
		go func() {
			errc <- h.Run(ctx, host.Cmd{Argv: []string{"sh", "-c", "echo started; exec sleep 30"}, Stdout: started})
		}()
		select {
		case <-started.seen:
		case err := <-errc:
			t.Fatalf("command ended before it was cancelled: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("command did not start within 20s")
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		for i := 0; i < 3; i++ {
			out, err := host.Output(testCtx(t), h, "echo", "after", fmt.Sprint(i))
			if err != nil || string(out) != fmt.Sprintf("after %d\n", i) {
				t.Fatalf("command %d after the cancel: %q, %v", i, out, err)
			}
		}
	}},
	{"streamed stdin answered live", func(t *testing.T, h host.Host) {
		// A stdin that is not in memory (the deploy lock's heartbeat
		// pipe) reaches the program while it runs, and its output comes
		// back before stdin ends.
		pr, pw := io.Pipe()
		defer pw.Close()
		got := &signalWriter{match: "ping", seen: make(chan struct{})}
		errc := make(chan error, 1)
		go func() { errc <- h.Run(testCtx(t), host.Cmd{Argv: []string{"cat"}, Stdin: pr, Stdout: got}) }()
		if _, err := pw.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got.seen:
		case err := <-errc:
			t.Fatalf("cat ended early: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("the echo did not come back while stdin was open")
		}
		pw.Close()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}},
	{"tcp dial", func(t *testing.T, h host.Host) {
		addr := echoServer(t, "tcp", "127.0.0.1:0")
		c, err := h.DialContext(testCtx(t), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkEcho(t, c)
	}},
	{"unix dial", func(t *testing.T, h host.Host) {
		addr := echoServer(t, "unix", filepath.Join(socketDir(t), "echo.sock"))
		c, err := h.DialContext(testCtx(t), "unix", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkEcho(t, c)
	}},
	{"unix dial missing socket", func(t *testing.T, h host.Host) {
		c, err := h.DialContext(testCtx(t), "unix", filepath.Join(t.TempDir(), "none.sock"))
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want fs.ErrNotExist", err)
		}
	}},
	{"dial refused", func(t *testing.T, h host.Host) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c, err := h.DialContext(testCtx(t), "tcp", addr)
		if err == nil {
			c.Close()
			t.Fatal("dial to a closed port succeeded")
		}
		if errors.Is(err, host.ErrForwardingDisabled) || errors.Is(err, host.ErrConnectionLost) {
			t.Errorf("refused dial reported as %v", err)
		}
	}},
	{"conn read deadline", func(t *testing.T, h host.Host) {
		addr := silentServer(t)
		c, err := h.DialContext(testCtx(t), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		start := time.Now()
		_, err = c.Read(make([]byte, 10))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read err = %v, want a timeout net.Error", err)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read err = %v, want os.ErrDeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("read returned after %s", d)
		}
		// A later deadline makes the conn usable again.
		if err := c.SetDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Errorf("write after timeout: %v", err)
		}
	}},
	{"file helpers round trip", func(t *testing.T, h host.Host) {
		ctx := testCtx(t)
		dir := t.TempDir()
		p := filepath.Join(dir, "nested", "dir", "secret.env")
		if err := host.MkdirAll(ctx, h, filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := host.WriteFileAtomic(ctx, h, p, strings.NewReader("OLD=1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		content := "TOKEN=it's $secret\n" + strings.Repeat("x", 100000)
		if err := host.WriteFileAtomic(ctx, h, p, strings.NewReader(content), 0o600); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode = %o, want 600", fi.Mode().Perm())
		}
		got, err := host.ReadFile(ctx, h, p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("read back %d bytes, want %d", len(got), len(content))
		}
		entries, _ := os.ReadDir(filepath.Dir(p))
		if len(entries) != 1 {
			t.Errorf("directory holds %d entries, want only the file (temporary files left?)", len(entries))
		}
		if ok, err := host.Exists(ctx, h, p); err != nil || !ok {
			t.Errorf("Exists = %v, %v", ok, err)
		}
		if err := host.Remove(ctx, h, p); err != nil {
			t.Fatal(err)
		}
		if ok, err := host.Exists(ctx, h, p); err != nil || ok {
			t.Errorf("Exists after Remove = %v, %v", ok, err)
		}
		_, err = host.ReadFile(ctx, h, p)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(missing) = %v, want fs.ErrNotExist", err)
		}
		if err := host.RemoveAll(ctx, h, filepath.Join(dir, "nested")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "nested")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("RemoveAll left %v", err)
		}
	}},
	{"atomic write to missing dir fails cleanly", func(t *testing.T, h host.Host) {
		p := filepath.Join(t.TempDir(), "missing", "f")
		err := host.WriteFileAtomic(testCtx(t), h, p, strings.NewReader("x"), 0o600)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("err = %v, want an error naming %s", err, p)
		}
	}},
	{"atomic write is one command: directory, condition, cleanup", func(t *testing.T, h host.Host) {
		// On 8fa63d2 an atomic write was seven commands (mkdir, mktemp, dd,
		// chmod, mv, sync, and rm on failure) and reading a missing file
		// two (cat, test -e): over SSH each is a session.
		ctx := testCtx(t)
		c := &countRuns{Runner: h}
		dir := filepath.Join(t.TempDir(), "state", "dir")
		p := filepath.Join(dir, "state.json")
		if _, err := host.ReadFile(ctx, c, p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadFile(missing) = %v, want fs.ErrNotExist", err)
		}
		if err := host.WriteFile(ctx, c, p, strings.NewReader("one\n"), host.WriteOptions{Mode: 0o600, DirMode: 0o700, IfSHA256: host.NoFile}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("directory created with %v (%v), want 0700", fi.Mode().Perm(), err)
		}
		sum := sha256.Sum256([]byte("one\n"))
		if err := host.WriteFile(ctx, c, p, strings.NewReader("two\n"), host.WriteOptions{Mode: 0o600, IfSHA256: hex.EncodeToString(sum[:])}); err != nil {
			t.Fatal(err)
		}
		// The file is "two" now: a write expecting "one" (or no file) changes nothing.
		for _, want := range []string{hex.EncodeToString(sum[:]), host.NoFile} {
			err := host.WriteFile(ctx, c, p, strings.NewReader("three\n"), host.WriteOptions{Mode: 0o600, IfSHA256: want})
			if !errors.Is(err, host.ErrChanged) {
				t.Errorf("conditional write over a changed file: %v, want ErrChanged", err)
			}
		}
		got, err := host.ReadFile(ctx, c, p)
		if err != nil || string(got) != "two\n" {
			t.Errorf("read back %q, %v; want two", got, err)
		}
		if c.n != 6 {
			t.Errorf("%d commands for 2 reads and 4 writes, want 6", c.n)
		}
		// A write that fails at the rename (a directory is in the way)
		// leaves no temporary file behind.
		in := filepath.Join(dir, "sub")
		if err := os.MkdirAll(filepath.Join(in, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := host.WriteFileAtomic(ctx, c, in, strings.NewReader("x"), 0o600); err == nil {
			t.Error("a write over a non-empty directory succeeded")
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("%s holds %d entries, want state.json and sub (temporary file left?)", dir, len(entries))
		}
	}},
	{"free disk and memory", func(t *testing.T, h host.Host) {
		ctx := testCtx(t)
		free, err := host.FreeDisk(ctx, h, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if free == 0 {
			t.Error("FreeDisk = 0")
		}
		m, err := host.Memory(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if m.Total == 0 || m.Available == 0 || m.Available > m.Total {
			t.Errorf("Memory = %+v", m)
		}
	}},
	{"docker ping", func(t *testing.T, h host.Host) {
		_, err := os.Stat(host.DefaultDockerSocket)
		hosttest.Require(t, "Docker Engine", err)
		c, err := host.NewDockerClient(h, "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := testCtx(t)
		ping, err := c.Ping(ctx)
		hosttest.Require(t, "Docker Engine", err)
		if ping.APIVersion == "" {
			t.Error("ping: empty API version")
		}
		v, err := c.ServerVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version == "" || v.APIVersion == "" {
			t.Errorf("server version %+v", v)
		}
	}},
}

func runOut(t *testing.T, h host.Host, cmd host.Cmd) (string, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	err := h.Run(testCtx(t), cmd)
	return out.String(), err
}

// signalWriter closes seen once the text written to it contains match.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	match string
	seen  chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.match)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.match) {
		close(w.seen)
	}
	return len(p), nil
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != 0 {
			return 0, errors.New("non-zero byte")
		}
	}
	w.n += len(p)
	return len(p), nil
}

func countingRun(t *testing.T, h host.Host, argv []string) (int, error) {
	w := &countWriter{}
	err := h.Run(testCtx(t), host.Cmd{Argv: argv, Stdout: w})
	return w.n, err
}

// serve listens on network/addr and hands every connection to handle,
// closing it afterwards; it returns the address.
func serve(t *testing.T, network, addr string, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// echoServer listens on network/addr and echoes every connection.
func echoServer(t *testing.T, network, addr string) string {
	return serve(t, network, addr, func(c net.Conn) { io.Copy(c, c) })
}

// silentServer accepts connections and never writes.
func silentServer(t *testing.T) string {
	return serve(t, "tcp", "127.0.0.1:0", func(c net.Conn) { io.Copy(io.Discard, c) })
}

// socketDir is a directory for unix sockets, short enough for their
// 108-byte path limit (t.TempDir's paths can be longer).
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bs-sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// checkEcho writes through c, half-closes it and reads everything back.
func checkEcho(t *testing.T, c net.Conn) {
	t.Helper()
	msg := bytes.Repeat([]byte("blueshift "), 50000)
	go func() {
		c.Write(msg)
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			t.Errorf("%T has no CloseWrite", c)
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Errorf("echo returned %d bytes, want %d", len(got), len(msg))
	}
}
