package deploy_test

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestMain runs the package's parallel tests 8 at a time (at least) under
// -short, unless -parallel says otherwise: the fake host's tests spend
// their time waiting for the shell scripts they run, not on the CPU, so
// the default (GOMAXPROCS, 2 here) left the cores idle (`go test -short
// ./deploy/` took 17 s with 2 at a time, 7 s with 8, on 2 cores). The
// full suite keeps the default: its tests drive the real Docker Engine.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if testing.Short() && !explicit {
		flag.Set("test.parallel", strconv.Itoa(max(8, 4*runtime.GOMAXPROCS(0))))
	}
	os.Exit(m.Run())
}
