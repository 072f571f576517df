package thebot_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/blueshift-deploy/blueshift/examples/thebot"
)

// workflowFile is the example workflow whose test job runs thebot's tests.
const workflowFile = "../github/thebot-ci.yml"

type ghService struct {
	Image   string            `yaml:"image"`
	Env     map[string]string `yaml:"env"`
	Options string            `yaml:"options"`
}

type ghStep struct {
	Name             string            `yaml:"name"`
	Uses             string            `yaml:"uses"`
	Run              string            `yaml:"run"`
	Env              map[string]string `yaml:"env"`
	WorkingDirectory string            `yaml:"working-directory"`
}

type ghJob struct {
	Container string               `yaml:"container"`
	Services  map[string]ghService `yaml:"services"`
	Env       map[string]string    `yaml:"env"`
	Steps     []ghStep             `yaml:"steps"`
}

// installStep matches the step installing the app's Debian packages.
var installStep = regexp.MustCompile(`apt-get install [^\n]*?((?:python3-[a-z0-9]+ ?)+)`)

// TestThebotWorkflowTestJob runs the test job of the example workflow
// (examples/github/thebot-ci.yml) on this machine the way GitHub's runner
// does: its service containers on a network of their own under their
// service names, with the job's env and health options, then each run:
// step in the job container with the job's env, in the checkout. Public
// images cannot be pulled here, so each is replaced by thebot's own build
// of it: postgres:15 and redis:7 by the registry's thebot images, and
// debian:bookworm by the base image, which is bookworm with the packages
// the install step installs (checked; that step is the only one not run).
// It also checks that deploy.yml's test phase (docker-compose.test.yml)
// gives the tests the same variables and services.
func TestThebotWorkflowTestJob(t *testing.T) {
	requireTools(t)
	defer logDuration(t)()
	b, err := os.ReadFile(workflowFile)
	require.NoError(t, err)
	var wf struct {
		Jobs map[string]ghJob `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &wf))
	job, ok := wf.Jobs["test"]
	require.True(t, ok, "the workflow has a test job")

	im := sharedImages(t)
	images := map[string]string{"postgres:15": im.DB, "redis:7": im.Redis, "debian:bookworm": im.Base}
	require.Contains(t, images, job.Container, "the job container")

	// The test phase's compose file gives the tests what the job does.
	o := testOptions(t)
	w, err := thebot.Open(o)
	require.NoError(t, err)
	require.NoError(t, w.WriteFiles(im))
	var tc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	b, err = os.ReadFile(filepath.Join(w.Dir, thebot.TestComposeName))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &tc))
	for k, v := range job.Env {
		assert.Equal(t, v, tc.Services["tests"].Environment[k], "docker-compose.test.yml's tests %s", k)
	}
	assert.Equal(t, images[job.Container], tc.Services["tests"].Image)
	for name, s := range job.Services {
		require.Contains(t, images, s.Image, "service %s", name)
		assert.Equal(t, images[s.Image], tc.Services[name].Image, "docker-compose.test.yml's %s", name)
		for k, v := range s.Env {
			assert.Equal(t, v, tc.Services[name].Environment[k], "docker-compose.test.yml's %s %s", name, k)
		}
	}

	// The services, as the runner starts them.
	network := fmt.Sprintf("thebot-gh%d", rand.IntN(1e6))
	require.NoError(t, exec.Command("docker", "network", "create", network).Run())
	var started []string
	t.Cleanup(func() {
		if len(started) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, started...)...).Run()
		}
		_ = exec.Command("docker", "network", "rm", network).Run()
	})
	for name, s := range job.Services {
		ctr := network + "-" + name
		args := []string{"docker", "run", "-d", "--name", ctr, "--network", network, "--network-alias", name}
		for k, v := range s.Env {
			args = append(args, "-e", k+"="+v)
		}
		// options: is docker create's flags as the runner passes them (a
		// shell word list).
		cmd := exec.Command("sh", append([]string{"-c", `exec "$@" ` + s.Options + ` "$IMAGE"`, "sh"}, args...)...)
		cmd.Env = append(os.Environ(), "IMAGE="+images[s.Image])
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "start service %s: %s", name, out)
		started = append(started, ctr)
	}
	for _, ctr := range started {
		require.Eventually(t, func() bool {
			out, _ := exec.Command("docker", "inspect", "--format", "{{.State.Health.Status}}", ctr).Output()
			return strings.TrimSpace(string(out)) == "healthy"
		}, 90*time.Second, time.Second, "service %s never healthy", ctr)
	}

	// The steps, in the job container with the checkout (the workspace,
	// whose backend/ is the Django project).
	ran := 0
	for _, s := range job.Steps {
		switch {
		case s.Uses != "":
			require.True(t, strings.HasPrefix(s.Uses, "actions/checkout@"), "step %q: only the checkout is an action", s.Name)
			continue
		case strings.Contains(s.Run, "apt-get install"):
			m := installStep.FindStringSubmatch(s.Run)
			require.NotNil(t, m, "step %q", s.Name)
			for _, p := range strings.Fields(m[1]) {
				assert.True(t, slices.Contains(thebot.BasePackages, p), "step %q installs %s, which the base image standing in for it lacks", s.Name, p)
			}
			continue
		}
		args := []string{"run", "--rm", "--network", network, "-v", w.Dir + ":/__w/thebot", "-w", filepath.Join("/__w/thebot", s.WorkingDirectory)}
		for _, env := range []map[string]string{job.Env, s.Env} {
			for k, v := range env {
				args = append(args, "-e", k+"="+v)
			}
		}
		args = append(args, images[job.Container], "bash", "-e", "-c", s.Run)
		out, err := exec.Command("docker", args...).CombinedOutput()
		require.NoError(t, err, "step %q:\n%s", s.Name, out)
		ran++
		if strings.Contains(s.Run, "manage.py test") {
			assert.Regexp(t, `Ran [1-9]\d* tests? in`, string(out))
			assert.Contains(t, string(out), "\nOK")
		}
	}
	assert.Equal(t, 1, ran, "the job's test step ran")
}
