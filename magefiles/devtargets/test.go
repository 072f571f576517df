package devtargets

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
)

// testRuns are the test commands of the repository: the main module, and
// the consumer example, which is a module of its own.
var testRuns = []struct{ dir, label string }{
	{".", "blueshift"},
	{"examples/consumer", "examples/consumer (a separate module importing blueshift)"},
}

// Test runs every test of the repository with the race detector, the two modules in parallel; the real components must be running (sudo bash .ci/setup).
func Test(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(testRuns))
	for i, r := range testRuns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, "go", "test", "-race", "-count=1", "-timeout", "40m", "./...")
			cmd.Dir = r.dir
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", r.label, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fail(err)
		}
	}
	return nil
}
