package targets

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
)

// TestDeployWritesGitHubJobSummary: in GitHub Actions a deployment appends
// its job summary to $GITHUB_STEP_SUMMARY (outcome, gantt of the phases)
// and prints an ::error:: line naming the failing phase. Before issue 15
// nothing was written there and a failure produced no annotation.
func TestDeployWritesGitHubJobSummary(t *testing.T) {
	hosttest.Require(t, "docker", exec.Command("docker", "version").Run())
	env, _ := localConfig(t, 18471, 18472, "")
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	env["GITHUB_STEP_SUMMARY"], env["GITHUB_ACTIONS"] = summary, "true"
	out, errOut := swap(t, env)
	// No image blueshift-test-…:v9.9.7 exists: preflight fails, nothing changes.
	err := (Deploy{}).Production(context.Background(), "v9.9.7")
	if mg.ExitStatus(err) != 1 {
		t.Fatalf("exit %d (%v), want 1; stderr:\n%s", mg.ExitStatus(err), err, errOut)
	}
	b, rerr := os.ReadFile(summary)
	if rerr != nil {
		t.Fatal(rerr)
	}
	s := string(b)
	if !strings.HasPrefix(s, "### ❌ failed: v9.9.7 failed in phase preflight on production") ||
		!strings.Contains(s, "```mermaid\ngantt\n") || !strings.Contains(s, "    preflight ") || !strings.Contains(s, ":crit, ") {
		t.Errorf("job summary:\n%s", s)
	}
	if !strings.Contains(out.String(), "\n::error title=production v9.9.7 failed in phase preflight::") {
		t.Errorf("no ::error:: line on stdout:\n%s", out)
	}
	assertNoSecrets(t, s+out.String()+errOut.String())
}
