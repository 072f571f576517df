package targets

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// copyCheckout copies this repository's files (tracked and new, not
// ignored ones) into a fresh directory, as a new clone would have them.
func copyCheckout(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestConcurrentTargets runs `go tool mage` twice at once in a fresh copy
// of the repository, as `status` in a second terminal beside a running
// deployment does. Before the magefiles/cmd/mage wrapper, each run wrote
// and removed magefiles/mage_output_file.go, and one of them failed with
// "open ./mage_output_file.go: no such file or directory".
func TestConcurrentTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the magefile; skipped with -short")
	}
	dir := copyCheckout(t)
	// Two terminals, each running targets one after another: the runs
	// overlap at every stage of mage's compile (3 of 8 failed before).
	const terminals, runs = 2, 4
	var wg sync.WaitGroup
	failures := make([][]string, terminals)
	for i := range terminals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range runs {
				cmd := exec.Command("go", "tool", "mage", "version:check", "v1.0.1")
				cmd.Dir = dir
				if b, err := cmd.CombinedOutput(); err != nil || string(b) != "v1.0.1\n" {
					failures[i] = append(failures[i], fmt.Sprintf("%v: %s", err, b))
				}
			}
		}()
	}
	wg.Wait()
	for i, f := range failures {
		for _, msg := range f {
			t.Errorf("terminal %d: %s", i, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "magefiles", "mage_output_file.go")); !os.IsNotExist(err) {
		t.Errorf("mage_output_file.go left behind: %v", err)
	}
}
