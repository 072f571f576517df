package hosttest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CompileMage compiles this repository's Mage frontend (what `go tool mage
// <target>` runs, exit codes included) into the binary bin, from the root
// of the main module the test runs in, so a test runs targets the way a
// user does without compiling the magefile for each run.
func CompileMage(bin string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("compile the mage frontend: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	// Another package's test may compile at the same time, and mage writes
	// its generated main into magefiles/: try again if the two collided.
	for attempt := 0; ; attempt++ {
		cmd := exec.Command("go", "tool", "mage", "-compile", bin)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		if attempt == 2 {
			return fmt.Errorf("go tool mage -compile (in %s): %w\n%s", root, err, out)
		}
		time.Sleep(time.Second)
	}
}
