package demo

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fakeCaddyEnv makes the test binary act as a Caddy that exits the way a
// real one can under load: on SIGTERM its main thread exits at once (the
// process shows as a zombie) while another thread keeps the inherited
// listening socket (fd 3) open for fakeCaddyHold before the process exits.
const (
	fakeCaddyEnv  = "BLUESHIFT_DEMO_FAKE_CADDY"
	fakeCaddyHold = 700 * time.Millisecond
)

func init() {
	if os.Getenv(fakeCaddyEnv) == "1" {
		runtime.LockOSThread() // main runs on the thread group leader
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(fakeCaddyEnv) == "1" {
		fakeCaddy()
	}
	os.Exit(m.Run())
}

func fakeCaddy() {
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		os.Exit(2)
	}
	go func() { // accept and drop: the socket is live
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	os.Stdout.WriteString("ready\n")
	<-term
	go func() {
		time.Sleep(fakeCaddyHold)
		os.Exit(0)
	}()
	// Exit the leader thread only; the runtime lives on in the others.
	_, _, _ = syscall.RawSyscall(syscall.SYS_EXIT, 0, 0, 0)
}

// startFakeCaddy runs the fake Caddy on a new proxy address of ws (bound
// here, not picked and bound again: on a busy machine a freed port is soon
// some connection's), records it in the pid file like StartProxy and
// returns once it handles SIGTERM.
func startFakeCaddy(t *testing.T, ws *Workspace) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ws.ProxyAddr = l.Addr().String()
	lf, err := l.(*net.TCPListener).File()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Args[0] = "caddy" // what isCaddy looks for
	cmd.Env = append(os.Environ(), fakeCaddyEnv+"=1")
	cmd.ExtraFiles = []*os.File{lf}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("fake caddy: %q, %v", line, err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(ws.Dir, caddyPID), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := procStateOf(pid); st != procCaddy {
		t.Fatalf("procStateOf(fake caddy) = %d, want procCaddy", st)
	}
	return pid
}

func fakeWorkspace(t *testing.T) *Workspace {
	ws, err := Open(Options{Dir: t.TempDir(), ProxyAddr: freeAddr(t), AdminAddr: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// A Caddy whose main thread has exited may still hold the listening
// socket: stopProxy (and so Down) returns only once the process is gone
// and the address can be bound again, so a Caddy started next gets it.
func TestStopProxyWaitsUntilThePortIsFree(t *testing.T) {
	t.Parallel()
	ws := fakeWorkspace(t)
	pid := startFakeCaddy(t, ws)

	start := time.Now()
	stopped, err := ws.stopProxy(context.Background())
	took := time.Since(start)
	if err != nil || !stopped {
		t.Fatalf("stopProxy = %v, %v; want true, nil", stopped, err)
	}
	l, err := net.Listen("tcp", ws.ProxyAddr)
	if err != nil {
		t.Fatalf("bind %s right after stopProxy: %v", ws.ProxyAddr, err)
	}
	l.Close()
	if took < fakeCaddyHold {
		t.Errorf("stopProxy returned after %s, before the process released its socket (%s)", took, fakeCaddyHold)
	}
	if st := procStateOf(pid); st != procGone {
		t.Errorf("procStateOf after stopProxy = %d, want procGone", st)
	}
	if _, err := os.Stat(filepath.Join(ws.Dir, caddyPID)); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	// Nothing left to stop.
	if stopped, err := ws.stopProxy(context.Background()); err != nil || stopped {
		t.Errorf("second stopProxy = %v, %v; want false, nil", stopped, err)
	}
}

// A Caddy already on its way out (stopped by someone else) is not a
// running Caddy, but its socket is still bound: it is waited for too.
func TestStopProxyWaitsForAnExitingCaddy(t *testing.T) {
	t.Parallel()
	ws := fakeWorkspace(t)
	pid := startFakeCaddy(t, ws)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(fakeCaddyHold / 2)
	for procStateOf(pid) != procExiting {
		if time.Now().After(deadline) {
			t.Fatalf("procStateOf(exiting fake caddy) = %d, want procExiting", procStateOf(pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if isCaddy(pid) {
		t.Errorf("isCaddy(exiting) = true")
	}
	if portFree(ws.ProxyAddr) {
		t.Fatalf("%s free while the fake caddy still holds it: the test proves nothing", ws.ProxyAddr)
	}
	stopped, err := ws.stopProxy(context.Background())
	if err != nil || stopped {
		t.Fatalf("stopProxy = %v, %v; want false (it was stopping already), nil", stopped, err)
	}
	if !portFree(ws.ProxyAddr) {
		t.Errorf("%s still in use after stopProxy", ws.ProxyAddr)
	}
}

func TestProcStateOf(t *testing.T) {
	t.Parallel()
	if st := procStateOf(os.Getpid()); st != procOther {
		t.Errorf("procStateOf(self) = %d, want procOther", st)
	}
	// A pid beyond the kernel's maximum never exists.
	if st := procStateOf(1 << 30); st != procGone {
		t.Errorf("procStateOf(no such pid) = %d, want procGone", st)
	}
}
