package shopdeploy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAppGetsNoRepositoryTargets lists this application's Mage targets the
// way its developers do (`go tool mage -l`): blueshift's application targets
// and its own deploy, but none of blueshift's repository-only targets. On
// 8fa63d2 magefiles/targets also held test, demo, demo:down and bench, so
// every application importing it got them, and its `mage test` ran
// blueshift's test suite (and failed there).
func TestAppGetsNoRepositoryTargets(t *testing.T) {
	out, err := exec.Command("go", "tool", "mage", "-l").CombinedOutput()
	if err != nil {
		t.Fatalf("go tool mage -l: %v\n%s", err, out)
	}
	listed := map[string]bool{}
	inTargets := false
	for _, line := range strings.Split(string(out), "\n") {
		if line == "Targets:" {
			inTargets = true
			continue
		}
		if f := strings.Fields(line); inTargets && len(f) > 0 && strings.HasPrefix(line, "  ") {
			listed[f[0]] = true
		}
	}
	for _, want := range []string{"deploy", "deploy:production", "rollback", "status", "lock:release", "reconcile", "config:check"} {
		if !listed[want] {
			t.Errorf("mage -l lacks %s:\n%s", want, out)
		}
	}
	for _, repoOnly := range []string{"test", "demo", "demo:down", "bench"} {
		if listed[repoOnly] {
			t.Errorf("mage -l lists blueshift's repository-only target %s:\n%s", repoOnly, out)
		}
	}
}
