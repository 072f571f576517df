package hosttest

// TB is the part of testing.TB the servers here use (*testing.T and
// *testing.B satisfy it). It lets a program that is not a test start them
// too: the bench (examples/bench) starts a real sshd and a slow link this
// way. As with testing, Fatalf and Skipf must not return (testing ends the
// goroutine with runtime.Goexit).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
	Cleanup(func())
	Failed() bool
}
