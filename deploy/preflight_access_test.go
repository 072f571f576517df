package deploy_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
)

// failedCheck is the failed preflight check called name in err.
func failedCheck(t *testing.T, err error, name string) deploy.Check {
	t.Helper()
	var pf *deploy.PreflightError
	require.ErrorAs(t, err, &pf)
	for _, c := range pf.Failed {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no failed check %q in %v", name, err)
	return deploy.Check{}
}

// TestPreflightComposeReadsRenderedFile (issue 15 item 6): a deploy user
// whose Compose cannot read the rendered file (Compose v1 refusing
// host_ip) passed preflight and failed at start, after the backup and the
// start notification. Preflight now gives the rendered file to the deploy
// user's Compose (`config --quiet`) in its resources command: it fails
// naming the fix, and nothing starts.
func TestPreflightComposeReadsRenderedFile(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	_, err, _ := a.unitPhase(t, "v1.0.0", deploy.PhasePreflight)
	require.NoError(t, err)
	ran := slices.ContainsFunc(a.fake.Model.Commands(), func(argv []string) bool {
		return slices.Contains(argv, "config") && slices.Contains(argv, "--quiet") && slices.Contains(argv, "shop-blue")
	})
	assert.True(t, ran, "compose config --quiet of the blue project ran: %q", a.fake.Model.Commands())

	b := newFakeApp(t, nil)
	b.fake.Model.Fail(1, "services.web.ports contains unsupported option: 'host_ip'", "config", "--quiet")
	_, err, _ = b.unitPhase(t, "v1.0.0", deploy.PhasePreflight)
	c := failedCheck(t, err, "compose reads the file")
	assert.Contains(t, c.Detail, "unsupported option: 'host_ip'")
	assert.Contains(t, c.Detail, "cannot read the rendered compose file: install Docker Compose v2")
	assert.Empty(t, b.fake.Model.Containers(""), "nothing started")
}

// TestPreflightDockerGroup: a deploy user who cannot use the Docker socket
// is told to join the docker group, at preflight.
func TestPreflightDockerGroup(t *testing.T) {
	t.Parallel()
	a := newFakeApp(t, nil)
	a.fake.Model.Fail(1, "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
		"version", "--format", "{{.Server.Version}}")
	_, err, _ := a.unitPhase(t, "v1.0.0", deploy.PhasePreflight)
	c := failedCheck(t, err, "docker access")
	assert.Contains(t, c.Detail, "permission denied")
	assert.Contains(t, c.Detail, "add it to the docker group (`sudo usermod -aG docker ")
	assert.Empty(t, a.fake.Model.Containers(""), "nothing started")
}
