package hosttest

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// A script the Fake runs for real (nginx's switch, a backup's probe) calls
// docker or nginx itself. So that those calls reach the model too, the
// scripts' PATH starts with a directory of shims: links named docker,
// docker-compose and nginx to the running test binary. Started with shimEnv
// set, a test binary that imports this package does not run its tests: its
// init (below) sends its argv to the Fake over a unix socket, relays the
// model's output and exits with the model's exit code. The shim's stdin is
// not forwarded (no command blueshift runs in a script feeds docker stdin
// during a deployment).

// shimEnv names the Fake's socket in the environment of the commands it runs.
const shimEnv = "BLUESHIFT_FAKE_HOST_SOCKET"

func init() {
	if sock := os.Getenv(shimEnv); sock != "" {
		os.Exit(runShim(sock, append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)))
	}
}

// Frame tags of the shim protocol: after the request (one JSON line), the
// Fake sends frames of a tag byte, a 4-byte big-endian length and the data,
// ending with frameExit whose data is the decimal exit code.
const (
	frameStdout = 'o'
	frameStderr = 'e'
	frameExit   = 'x'
)

type shimRequest struct {
	Argv []string `json:"argv"`
}

// runShim forwards argv to the Fake listening on sock and returns the exit code.
func runShim(sock string, argv []string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake host shim: %v\n", err)
		return 126
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(shimRequest{Argv: argv}); err != nil {
		fmt.Fprintf(os.Stderr, "fake host shim: %v\n", err)
		return 126
	}
	r := bufio.NewReader(c)
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			fmt.Fprintf(os.Stderr, "fake host shim: %v\n", err)
			return 126
		}
		data := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
		if _, err := io.ReadFull(r, data); err != nil {
			fmt.Fprintf(os.Stderr, "fake host shim: %v\n", err)
			return 126
		}
		switch hdr[0] {
		case frameStdout:
			os.Stdout.Write(data)
		case frameStderr:
			os.Stderr.Write(data)
		case frameExit:
			code, _ := strconv.Atoi(string(data))
			return code
		}
	}
}

// shimServer answers the shims of one Fake.
type shimServer struct {
	addr string
	dir  string
	l    net.Listener
	wg   sync.WaitGroup
}

// startShims makes f's shim directory and starts answering its shims.
func startShims(f *Fake) (*shimServer, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("shims: %w", err)
	}
	dir, err := os.MkdirTemp("", "blueshift-fake-bin")
	if err != nil {
		return nil, "", fmt.Errorf("shims: %w", err)
	}
	for _, name := range []string{"docker", "docker-compose", "nginx"} {
		if err := os.Symlink(exe, filepath.Join(dir, name)); err != nil {
			os.RemoveAll(dir)
			return nil, "", fmt.Errorf("shims: %w", err)
		}
	}
	s := &shimServer{addr: filepath.Join(dir, "sock"), dir: dir}
	if s.l, err = net.Listen("unix", s.addr); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("shims: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serveShim(f.Model, c)
			}()
		}
	}()
	return s, dir, nil
}

// serveShim answers one shim's command from m.
func serveShim(m *Model, c net.Conn) {
	var req shimRequest
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&req); err != nil || len(req.Argv) == 0 {
		return
	}
	var mu sync.Mutex
	send := func(tag byte, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		var hdr [5]byte
		hdr[0] = tag
		binary.BigEndian.PutUint32(hdr[1:], uint32(len(data)))
		_, _ = c.Write(append(hdr[:], data...))
	}
	code := m.Exec(context.Background(), req.Argv, nil, frameWriter(func(p []byte) { send(frameStdout, p) }), frameWriter(func(p []byte) { send(frameStderr, p) }))
	send(frameExit, []byte(strconv.Itoa(code)))
}

type frameWriter func([]byte)

func (w frameWriter) Write(p []byte) (int, error) { w(p); return len(p), nil }

func (s *shimServer) close() {
	s.l.Close()
	s.wg.Wait()
	os.RemoveAll(s.dir)
}
