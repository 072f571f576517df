package hosttest

import (
	"fmt"
	"os/exec"
	"time"
)

// CompileMage compiles the Mage frontend of the repository at root into
// bin: the binary a user's `go tool mage` runs, for tests that go through
// the frontend.
func CompileMage(root, bin string) error {
	// Another package's test may compile at the same time, and mage writes
	// its generated main into magefiles/: try again if the two collided.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		cmd := exec.Command("go", "tool", "mage", "-compile", bin)
		cmd.Dir = root
		var out []byte
		if out, err = cmd.CombinedOutput(); err == nil {
			return nil
		}
		err = fmt.Errorf("go tool mage -compile: %w\n%s", err, out)
		time.Sleep(time.Second)
	}
	return err
}
