package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGitHub implements the two deployment endpoints with GitHub's JSON shapes.
type fakeGitHub struct {
	mu       sync.Mutex
	nextID   int64
	requests []recorded
	fail     int // answer this status to everything when non-zero
}

func (f *fakeGitHub) handler() http.Handler {
	mux := http.NewServeMux()
	record := func(r *http.Request) []byte {
		var body json.RawMessage
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		return body
	}
	mux.HandleFunc("POST /api/repos/{owner}/{repo}/deployments", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		body := record(r)
		if f.fail != 0 {
			w.WriteHeader(f.fail)
			fmt.Fprint(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		f.nextID++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"url": "https://api.github.com/repos/o/r/deployments/" + fmt.Sprint(f.nextID), "id": f.nextID,
			"sha": req["ref"], "ref": req["ref"], "task": "deploy", "payload": req["payload"],
			"environment": req["environment"], "description": req["description"],
			"creator":    map[string]any{"login": "github-actions[bot]", "id": 41898282},
			"created_at": "2024-12-27T18:30:50Z", "updated_at": "2024-12-27T18:30:50Z",
		})
	})
	mux.HandleFunc("POST /api/repos/{owner}/{repo}/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		body := record(r)
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"id": 100 + len(f.requests), "state": req["state"], "description": req["description"],
			"environment": req["environment"], "environment_url": req["environment_url"], "log_url": req["log_url"],
			"created_at": "2024-12-27T18:31:00Z",
		})
	})
	return mux
}

func (f *fakeGitHub) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func startGitHub(t *testing.T) (*fakeGitHub, *notify.GitHub) {
	t.Helper()
	f := &fakeGitHub{}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: srv.URL + "/api"})
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

	reqs := f.all()
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
	ev2.DeploymentID = "other"
	require.NoError(t, gh.Notify(ctx, ev2))

	reqs := f.all()
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
	f.fail = http.StatusUnauthorized
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
	f := &fakeGitHub{}
	srv := httptest.NewTLSServer(f.handler())
	t.Cleanup(srv.Close)
	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: srv.URL + "/api", HTTPClient: srv.Client()})
	require.NoError(t, err)
	require.NoError(t, gh.Notify(context.Background(), sampleEvent(notify.Started)))
	reqs := f.all()
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
	other := &fakeGitHub{}
	otherSrv := httptest.NewServer(other.handler())
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
	reqs := other.all()
	require.NotEmpty(t, reqs, "the redirect was not followed")
	for _, r := range reqs {
		assert.Empty(t, r.Header.Get("Authorization"), "%s %s on the other host carried the token", r.Method, r.Path)
	}
}
