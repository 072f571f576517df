package deploy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy/version"
	"github.com/blueshift-deploy/blueshift/notify/githubtest"
)

// TestGitHubDeploymentsForEveryOutcome runs the pipelines with GitHub
// deployments configured against the local REST server and pins the calls
// of a success, an automatic rollback, a manual rollback and notify:test.
// Before issue 15 the manual rollback set its deployment to failure and
// left the rolled-away release's deployment active, and notify:test created
// a production deployment left in_progress.
func TestGitHubDeploymentsForEveryOutcome(t *testing.T) {
	t.Parallel()
	gh, a := githubApp(t, "")
	ctx := context.Background()

	// Each release is its own commit: the rollback must find v1.0.0's.
	deploy := func(v, commit string) error {
		eng := a.engine(t)
		d := eng.NewDeployment(version.MustParse(v))
		d.Commit = commit
		return eng.Pipeline().Run(ctx, d)
	}
	require.NoError(t, deploy("v1.0.0", "c100"))
	require.NoError(t, deploy("v1.0.1", "c101"))
	a.fake.Model.Fail(1, "migration 0042 failed", "exec", "migrate")
	require.Error(t, deploy("v1.0.2", "c102"))
	eng := a.engine(t)
	require.NoError(t, eng.RollbackPipeline("").Run(ctx, eng.NewRollback()))
	eng = a.engine(t)
	res, err := eng.TestNotify(ctx)
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.NoError(t, res[0].Err)

	assert.Equal(t, []string{
		// v1.0.0 and v1.0.1 deployed
		"POST /deployments env=production ref=c100",
		"POST /deployments/1/statuses state=in_progress env=production",
		"POST /deployments/1/statuses state=success auto_inactive=true env=production",
		"POST /deployments env=production ref=c101",
		"POST /deployments/2/statuses state=in_progress env=production",
		"POST /deployments/2/statuses state=success auto_inactive=true env=production",
		// v1.0.2 failed and was rolled back automatically: v1.0.1 stays active
		"POST /deployments env=production ref=c102",
		"POST /deployments/3/statuses state=in_progress env=production",
		"POST /deployments/3/statuses state=failure env=production",
		// rollback from v1.0.1 to v1.0.0: restored success, rolled-away inactive
		"POST /deployments env=production ref=c100",
		"POST /deployments/4/statuses state=success auto_inactive=true env=production",
		"GET /deployments?environment=production&per_page=100",
		"POST /deployments/2/statuses state=inactive env=production",
		// notify:test: a transient environment, inactive at once
		"POST /deployments env=production-notify-test ref=v0.0.0-notify-test",
		"POST /deployments/5/statuses state=inactive env=production-notify-test",
	}, gh.Calls())
}

// TestGitHubCommitStatusesFromConfig: notify.github.commit_statuses sets a
// status on the deployed commit in context blueshift/<env>.
func TestGitHubCommitStatusesFromConfig(t *testing.T) {
	t.Parallel()
	gh, a := githubApp(t, ", commit_statuses: true")
	eng := a.engine(t)
	d := eng.NewDeployment(version.MustParse("v1.0.0"))
	d.Commit = "c100c100c100c100c100c100c100c100c100c100"
	require.NoError(t, eng.Pipeline().Run(context.Background(), d))
	assert.Equal(t, []string{
		"POST /deployments env=production ref=" + d.Commit,
		"POST /deployments/1/statuses state=in_progress env=production",
		"POST /statuses/" + d.Commit + " state=pending context=blueshift/production",
		"POST /deployments/1/statuses state=success auto_inactive=true env=production",
		"POST /statuses/" + d.Commit + " state=success context=blueshift/production",
	}, gh.Calls())
}

// githubApp is a fake app whose deployments GitHub records on a local
// server; extra is added to notify.github's flow mapping.
func githubApp(t *testing.T, extra string) (*githubtest.Server, *fakeApp) {
	t.Helper()
	gh := &githubtest.Server{}
	api := gh.Start(t)
	a := newFakeApp(t, func(cfg string) string {
		return cfg + "    notify:\n      github: {repo: acme/shop, api_url: \"" + api + "\"" + extra + "}\n"
	})
	a.env["GITHUB_TOKEN"] = "ghp_unitTestToken0123456789"
	return gh, a
}
