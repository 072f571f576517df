package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/blueshift-deploy/blueshift/notify/githubtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startGitHub(t *testing.T) (*githubtest.Server, *notify.GitHub) {
	t.Helper()
	f := &githubtest.Server{}
	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: f.Start(t)})
	require.NoError(t, err)
	return f, gh
}

func jsonMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	return m
}

func TestGitHubDeploymentLifecycle(t *testing.T) {
	t.Parallel()
	f, gh := startGitHub(t)
	ctx := context.Background()
	ev := sampleEvent(notify.Started)
	ev.PublicURL, ev.LogURL = "https://the-bot.ru", "https://github.com/acme/shop/actions/runs/42"
	require.NoError(t, gh.Notify(ctx, ev))
	ev.Kind = notify.Succeeded
	require.NoError(t, gh.Notify(ctx, ev))

	reqs := f.Requests()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, "Bearer "+githubToken, r.Header.Get("Authorization"))
		assert.Equal(t, http.MethodPost, r.Method)
	}
	assert.Equal(t, "/api/repos/acme/shop/deployments", reqs[0].Path)
	assert.Contains(t, string(reqs[0].Body), `"required_contexts":[]`)
	assert.Contains(t, string(reqs[0].Body), `"auto_merge":false`)
	d := jsonMap(t, reqs[0].Body)
	assert.Equal(t, ev.Commit, d["ref"])
	assert.Equal(t, "production", d["environment"])
	assert.Equal(t, map[string]any{"version": "v1.0.1", "deployment_id": "prod-v1.0.1-20241227_183050"}, d["payload"])
	assert.Equal(t, "Deploy v1.0.1 (prod-v1.0.1-20241227_183050)", d["description"])

	var states []string
	for _, r := range reqs[1:] {
		assert.Equal(t, "/api/repos/acme/shop/deployments/1/statuses", r.Path)
		s := jsonMap(t, r.Body)
		states = append(states, s["state"].(string))
		assert.Equal(t, "https://the-bot.ru", s["environment_url"])
		assert.Equal(t, "https://github.com/acme/shop/actions/runs/42", s["log_url"])
		assert.Equal(t, "production", s["environment"])
	}
	assert.Equal(t, []string{"in_progress", "success"}, states)
	assert.Equal(t, true, jsonMap(t, reqs[2].Body)["auto_inactive"])
}

func TestGitHubFailureWithoutStartCreatesDeploymentAndTruncates(t *testing.T) {
	t.Parallel()
	f, gh := startGitHub(t)
	ctx := context.Background()
	ev := sampleEvent(notify.Failed)
	ev.Ref = "v1.0.1"
	ev.Phase, ev.Err = "smoke", errors.New(strings.Repeat("smoke test «login» failed; ", 20))
	require.NoError(t, gh.Notify(ctx, ev))
	ev2 := sampleEvent(notify.RolledBack)
	ev2.DeploymentID, ev2.Automatic = "other", true
	require.NoError(t, gh.Notify(ctx, ev2))

	reqs := f.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, "v1.0.1", jsonMap(t, reqs[0].Body)["ref"])
	s := jsonMap(t, reqs[1].Body)
	assert.Equal(t, "failure", s["state"])
	desc := s["description"].(string)
	assert.Equal(t, notify.GitHubDescriptionMax, utf8.RuneCountInString(desc))
	assert.True(t, strings.HasPrefix(desc, "Production Deployment Failed in smoke: smoke test «login»"), desc)
	assert.Equal(t, "/api/repos/acme/shop/deployments/2/statuses", reqs[3].Path)
	assert.Equal(t, "failure", jsonMap(t, reqs[3].Body)["state"])
}

func TestGitHubErrorsSayWhatFailedWithoutToken(t *testing.T) {
	t.Parallel()
	f, gh := startGitHub(t)
	f.Fail = http.StatusUnauthorized
	err := gh.Notify(context.Background(), sampleEvent(notify.Started))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "create deployment")
	assert.Contains(t, err.Error(), "401 Bad credentials")
	assert.NotContains(t, err.Error(), githubToken)
}

func TestNewGitHubValidates(t *testing.T) {
	t.Parallel()
	_, err := notify.NewGitHub(notify.GitHubConfig{Token: "x", Repository: "nope"})
	require.ErrorIs(t, err, notify.ErrGitHubConfig)
	assert.Contains(t, err.Error(), "want owner/name")
	_, err = notify.NewGitHub(notify.GitHubConfig{Repository: "a/b"})
	require.ErrorIs(t, err, notify.ErrGitHubConfig)
	assert.Contains(t, err.Error(), "GITHUB_TOKEN")
}

// TestGitHubRefusesPlainHTTPAPIURL: on 239a55e NewGitHub accepted
// "http://ghe.example/api/v3" and sent the token in clear text with every
// request. Now an http URL is refused, naming the field, except for a
// loopback host (local test servers); https works as before.
func TestGitHubRefusesPlainHTTPAPIURL(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"http://ghe.example/api/v3", "http://10.0.0.8:8080/", "ftp://ghe.example/"} {
		_, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: base})
		require.ErrorIs(t, err, notify.ErrGitHubConfig, base)
		require.ErrorIs(t, err, notify.ErrInsecureURL, base)
		assert.Contains(t, err.Error(), "notify.github.api_url", base)
		assert.Contains(t, err.Error(), "must be an https URL", base)
		assert.NotContains(t, err.Error(), githubToken)
	}
	for _, base := range []string{"http://127.0.0.1:8080/api/", "http://[::1]:8080/", "http://localhost/", "https://ghe.example/api/v3/"} {
		_, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: base})
		assert.NoError(t, err, base)
	}

	// Over TLS the token goes to the API as before.
	f := &githubtest.Server{}
	srv := httptest.NewTLSServer(f.Handler())
	t.Cleanup(srv.Close)
	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: srv.URL + "/api", HTTPClient: srv.Client()})
	require.NoError(t, err)
	require.NoError(t, gh.Notify(context.Background(), sampleEvent(notify.Started)))
	reqs := f.Requests()
	require.NotEmpty(t, reqs)
	assert.Equal(t, "Bearer "+githubToken, reqs[0].Header.Get("Authorization"))
}

// TestGitHubTokenNotSentOnRedirectToAnotherHost: on 239a55e the client came
// from go-github's WithAuthToken, whose transport sets the Authorization
// header on every request it sends, so a 307 from the API to another host
// delivered the token there. Now the token goes only to the API's own
// scheme and host: the other host gets the request without it.
func TestGitHubTokenNotSentOnRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	other := &githubtest.Server{}
	otherSrv := httptest.NewServer(other.Handler())
	t.Cleanup(otherSrv.Close)
	// The same loopback server under another name: another host to the
	// client.
	otherURL := strings.Replace(otherSrv.URL, "127.0.0.1", "localhost", 1)

	var mu sync.Mutex
	var apiAuth []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		apiAuth = append(apiAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Redirect(w, r, otherURL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)

	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: api.URL + "/api"})
	require.NoError(t, err)
	require.NoError(t, gh.Notify(context.Background(), sampleEvent(notify.Started)))

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, apiAuth)
	for _, a := range apiAuth {
		assert.Equal(t, "Bearer "+githubToken, a, "the API's own host gets the token")
	}
	reqs := other.Requests()
	require.NotEmpty(t, reqs, "the redirect was not followed")
	for _, r := range reqs {
		assert.Empty(t, r.Header.Get("Authorization"), "%s %s on the other host carried the token", r.Method, r.Path)
	}
}

// TestGitHubCallSequences pins the REST calls of each outcome. Before
// issue 15 a manual rollback set the restored release's deployment to
// failure and left the rolled-away one active (its last status success).
func TestGitHubCallSequences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v1 := sampleEvent(notify.Started)
	v1.Version, v1.DeploymentID, v1.Commit = "v1.0.0", "prod-v1.0.0-1", "1111111"
	v2 := sampleEvent(notify.Started)
	v2.Version, v2.DeploymentID, v2.Commit = "v1.0.1", "prod-v1.0.1-2", "2222222"
	deploy := func(gh *notify.GitHub, ev notify.Event, outcome notify.Kind, automatic bool) {
		t.Helper()
		require.NoError(t, gh.Notify(ctx, ev))
		ev.Kind, ev.Automatic = outcome, automatic
		require.NoError(t, gh.Notify(ctx, ev))
	}

	t.Run("success", func(t *testing.T) {
		f, gh := startGitHub(t)
		deploy(gh, v1, notify.Succeeded, false)
		assert.Equal(t, []string{
			"POST /deployments env=production ref=1111111",
			"POST /deployments/1/statuses state=in_progress env=production",
			"POST /deployments/1/statuses state=success auto_inactive=true env=production",
		}, f.Calls())
	})

	t.Run("automatic rollback", func(t *testing.T) {
		f, gh := startGitHub(t)
		deploy(gh, v1, notify.Succeeded, false)
		deploy(gh, v2, notify.RolledBack, true)
		// v2 failed and never became success: v1 stays the active one.
		assert.Equal(t, []string{
			"POST /deployments env=production ref=2222222",
			"POST /deployments/2/statuses state=in_progress env=production",
			"POST /deployments/2/statuses state=failure env=production",
		}, f.Calls()[3:])
	})

	t.Run("manual rollback", func(t *testing.T) {
		f, gh := startGitHub(t)
		deploy(gh, v1, notify.Succeeded, false)
		deploy(gh, v2, notify.Succeeded, false)
		// A rollback runs in a new process: a new notifier, on the same server.
		rb := v1
		rb.Kind, rb.DeploymentID = notify.RolledBack, "prod-v1.0.0-3"
		rb.FromVersion, rb.FromDeploymentID = v2.Version, v2.DeploymentID
		require.NoError(t, gh.Notify(ctx, rb))
		assert.Equal(t, []string{
			"POST /deployments env=production ref=1111111",
			"POST /deployments/3/statuses state=success auto_inactive=true env=production",
			"GET /deployments?environment=production&per_page=100",
			"POST /deployments/2/statuses state=inactive env=production",
		}, f.Calls()[6:])
		assert.Equal(t, "Rolled back to v1.0.0 from v1.0.1", jsonMap(t, f.Requests()[7].Body)["description"])
	})

	t.Run("manual rollback failed", func(t *testing.T) {
		f, gh := startGitHub(t)
		rb := v1
		rb.Kind, rb.FromVersion, rb.FromDeploymentID = notify.Failed, v2.Version, v2.DeploymentID
		require.NoError(t, gh.Notify(ctx, rb))
		// The release rolled away from still serves: nothing marks it inactive.
		assert.Equal(t, []string{
			"POST /deployments env=production ref=1111111",
			"POST /deployments/1/statuses state=failure env=production",
		}, f.Calls())
	})

	// notify:test: before issue 15 it created a production deployment left
	// in_progress forever.
	t.Run("notify test", func(t *testing.T) {
		f, gh := startGitHub(t)
		ev := sampleEvent(notify.Started)
		ev.Test = true
		require.NoError(t, gh.Notify(ctx, ev))
		reqs := f.Requests()
		assert.Equal(t, []string{
			"POST /deployments env=production-notify-test ref=" + ev.Commit,
			"POST /deployments/1/statuses state=inactive env=production-notify-test",
		}, f.Calls())
		d := jsonMap(t, reqs[0].Body)
		assert.Equal(t, true, d["transient_environment"])
		assert.Equal(t, false, d["production_environment"])
	})
}

// TestGitHubCommitStatuses: with CommitStatuses the deployed commit gets a
// status in context blueshift/<env> after each deployment status (the
// seed's pull-request checks); a test event sets none, and without the
// option none is set.
func TestGitHubCommitStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &githubtest.Server{}
	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: f.Start(t), CommitStatuses: true})
	require.NoError(t, err)
	ev := sampleEvent(notify.Started)
	ev.LogURL = "https://github.com/acme/shop/actions/runs/42"
	for _, k := range []notify.Kind{notify.Started, notify.Succeeded} {
		ev.Kind = k
		require.NoError(t, gh.Notify(ctx, ev))
	}
	failed := ev
	failed.Kind, failed.DeploymentID, failed.Automatic, failed.Commit = notify.RolledBack, "prod-v1.0.2-1", true, "fedcba9876543210fedcba9876543210fedcba98"
	require.NoError(t, gh.Notify(ctx, failed))
	test := ev
	test.Kind, test.DeploymentID, test.Test = notify.Started, "test", true
	require.NoError(t, gh.Notify(ctx, test))

	sha := "/statuses/" + ev.Commit
	assert.Equal(t, []string{
		"POST /deployments env=production ref=" + ev.Commit,
		"POST /deployments/1/statuses state=in_progress env=production",
		"POST " + sha + " state=pending context=blueshift/production",
		"POST /deployments/1/statuses state=success auto_inactive=true env=production",
		"POST " + sha + " state=success context=blueshift/production",
		"POST /deployments env=production ref=" + failed.Commit,
		"POST /deployments/2/statuses state=failure env=production",
		"POST /statuses/" + failed.Commit + " state=failure context=blueshift/production",
		"POST /deployments env=production-notify-test ref=" + ev.Commit,
		"POST /deployments/3/statuses state=inactive env=production-notify-test",
	}, f.Calls())
	s := jsonMap(t, f.Requests()[4].Body)
	assert.Equal(t, "https://github.com/acme/shop/actions/runs/42", s["target_url"])
	assert.Equal(t, "Deployed v1.0.1", s["description"])

	// Off by default: the token may lack the statuses permission.
	f2, gh2 := startGitHub(t)
	require.NoError(t, gh2.Notify(ctx, sampleEvent(notify.Started)))
	for _, c := range f2.Calls() {
		assert.NotContains(t, c, "/statuses/"+ev.Commit)
	}
}
