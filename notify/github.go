package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/go-github/v75/github"
)

// GitHubDescriptionMax is the longest deployment status description GitHub
// accepts, in characters.
const GitHubDescriptionMax = 140

// GitHub records deployments in a repository's GitHub Deployments: Started
// creates a deployment and marks it in_progress, Succeeded marks it success
// (earlier deployments to the environment become inactive), Failed and an
// automatic rollback mark it failure (the release rolled back to stays the
// active one: the failed deployment never became success). A manual
// rollback is a deployment of the restored release: it is marked success
// and the deployment of the release rolled away from (Event.FromDeploymentID,
// found by its payload) is marked inactive. A test event (Event.Test) goes
// to the transient environment TestEnvironment names and is marked inactive
// at once. With GitHubConfig.CommitStatuses the deployed commit also gets
// a commit status (see CommitStatusContext). The deployment's ID is kept
// between events, keyed by the event's DeploymentID; an event without an
// earlier Started creates the deployment first.
type GitHub struct {
	client      *github.Client
	owner, repo string
	token       string

	commitStatuses bool

	mu  sync.Mutex
	ids map[string]int64
}

// GitHubConfig configures NewGitHub.
type GitHubConfig struct {
	// Token authenticates (GITHUB_TOKEN); it needs the deployments
	// permission. It is sent only in the Authorization header.
	Token string
	// Repository is "owner/name" (GITHUB_REPOSITORY).
	Repository string
	// BaseURL is the API root; default "https://api.github.com/". A
	// trailing slash is added when missing. It must be https; plain http is
	// accepted only for a loopback host (127.0.0.0/8, ::1, localhost), where
	// the token never crosses a network (local test servers, a local proxy).
	BaseURL string
	// CommitStatuses also sets a commit status on the deployed commit
	// (Event.Commit, a full SHA) with context "blueshift/<environment>":
	// pending when started, success when deployed (or rolled back to),
	// failure when the deployment failed or was rolled back. The token then
	// needs the statuses permission. Default false.
	CommitStatuses bool
	// HTTPClient sends the requests; default a new http.Client. It is
	// copied, never changed: the copy adds the token and the redirect
	// policy.
	HTTPClient *http.Client
}

// ErrGitHubConfig is wrapped by NewGitHub's errors.
var ErrGitHubConfig = errors.New("github notifier: invalid configuration")

// NewGitHub returns a GitHub deployments notifier.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	owner, repo, ok := strings.Cut(cfg.Repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("%w: repository %q: want owner/name (GITHUB_REPOSITORY)", ErrGitHubConfig, cfg.Repository)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: token is empty (set GITHUB_TOKEN)", ErrGitHubConfig)
	}
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.github.com/"
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%w: base url (notify.github.api_url, GITHUB_API_URL): %w", ErrGitHubConfig, err)
	}
	if err := CheckGitHubURL(u); err != nil {
		return nil, fmt.Errorf("%w: base url (notify.github.api_url, GITHUB_API_URL): %w", ErrGitHubConfig, err)
	}
	c := github.NewClient(tokenClient(cfg.HTTPClient, u, cfg.Token))
	c.BaseURL = u
	return &GitHub{client: c, owner: owner, repo: repo, token: cfg.Token, commitStatuses: cfg.CommitStatuses, ids: map[string]int64{}}, nil
}

// ErrInsecureURL is wrapped by CheckGitHubURL's error: the URL would send
// the token in clear text over a network.
var ErrInsecureURL = errors.New("must be an https URL (http only for 127.0.0.1, ::1 or localhost)")

// CheckGitHubURL reports whether the token may be sent to u: https with a
// host, or http to a loopback host (a test server or a local proxy; the
// token then never leaves the machine).
func CheckGitHubURL(u *url.URL) error {
	switch {
	case u.Host == "":
		return fmt.Errorf("%q has no host; want e.g. https://api.github.com/", u.Redacted())
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q %w: the token would cross the network in clear text", u.Redacted(), ErrInsecureURL)
}

// isLoopback reports whether host names this machine's loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tokenClient returns a copy of hc (nil: a new client) whose requests carry
// the token only when they go to base's scheme and host. go-github's
// WithAuthToken sets the header in the transport, on every request the
// client makes, so a redirect to another host would receive the token; here
// the transport checks the destination of each request, and CheckRedirect
// refuses a redirect away from https (or loopback http) and strips the
// header from one to another host, so the token never follows a redirect off
// the API's host.
func tokenClient(hc *http.Client, base *url.URL, token string) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	sameOrigin := func(u *url.URL) bool {
		return u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host)
	}
	c.Transport = roundTripper(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		if sameOrigin(req.URL) {
			req.Header.Set("Authorization", "Bearer "+token)
		} else {
			req.Header.Del("Authorization")
		}
		return next.RoundTrip(req)
	})
	userCheck := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if err := CheckGitHubURL(req.URL); err != nil {
			return fmt.Errorf("redirect to %s refused: %w", req.URL.Redacted(), err)
		}
		if !sameOrigin(req.URL) {
			req.Header.Del("Authorization")
		}
		if userCheck != nil {
			return userCheck(req, via)
		}
		return nil
	}
	return c
}

// roundTripper is a function as an http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// Name returns "github".
func (g *GitHub) Name() string { return "github" }

// DeploymentPayload is the payload attached to each GitHub deployment.
type DeploymentPayload struct {
	Version      string `json:"version"`
	DeploymentID string `json:"deployment_id"`
}

// Notify creates the deployment or adds a status to it.
func (g *GitHub) Notify(ctx context.Context, ev Event) error {
	id, err := g.deployment(ctx, ev)
	if err != nil {
		return err
	}
	state := githubState(ev)
	req := &github.DeploymentStatusRequest{
		State:       github.Ptr(state),
		Description: github.Ptr(truncateRunes(githubDescription(ev), GitHubDescriptionMax)),
		Environment: github.Ptr(githubEnvironment(ev)),
	}
	if ev.PublicURL != "" {
		req.EnvironmentURL = github.Ptr(ev.PublicURL)
	}
	if ev.LogURL != "" {
		req.LogURL = github.Ptr(ev.LogURL)
	}
	if state == "success" {
		req.AutoInactive = github.Ptr(true)
	}
	if _, _, err := g.client.Repositories.CreateDeploymentStatus(ctx, g.owner, g.repo, id, req); err != nil {
		return fmt.Errorf("github: set deployment %d status %s: %w", id, state, g.redact(err))
	}
	if ev.Kind == RolledBack && !ev.Automatic {
		if err := g.deactivate(ctx, ev, id); err != nil {
			return err
		}
	}
	return g.commitStatus(ctx, ev, state)
}

// CommitStatusContext is the context of the commit statuses a GitHub
// notifier sets for env ("blueshift/production"): the name a branch
// protection rule or a pull request's checks show.
func CommitStatusContext(env string) string {
	if env == "" {
		env = "production"
	}
	return "blueshift/" + env
}

// commitStatus sets the commit status of ev's commit when configured;
// deployment is the deployment status just set. A test event and an event
// without a commit set none.
func (g *GitHub) commitStatus(ctx context.Context, ev Event, deployment string) error {
	if !g.commitStatuses || ev.Test || ev.Commit == "" {
		return nil
	}
	state := deployment
	if deployment == "in_progress" {
		state = "pending" // a commit status has no in_progress
	}
	st := &github.RepoStatus{
		State:       github.Ptr(state),
		Description: github.Ptr(truncateRunes(githubDescription(ev), GitHubDescriptionMax)),
		Context:     github.Ptr(CommitStatusContext(ev.Environment)),
	}
	if ev.LogURL != "" {
		st.TargetURL = github.Ptr(ev.LogURL)
	}
	if _, _, err := g.client.Repositories.CreateStatus(ctx, g.owner, g.repo, ev.Commit, st); err != nil {
		return fmt.Errorf("github: set commit %s status %s: %w", ShortCommit(ev.Commit), state, g.redact(err))
	}
	return nil
}

// deactivate marks inactive the deployment of the release a manual
// rollback returned from: the newest deployment to the environment, other
// than restored, whose payload names ev.FromDeploymentID (or, when that is
// empty, ev.FromVersion). auto_inactive alone does not do it: GitHub
// applies it only to non-production environments' earlier deployments.
// Finding none (the release was deployed without this notifier) is not an
// error.
func (g *GitHub) deactivate(ctx context.Context, ev Event, restored int64) error {
	if ev.FromDeploymentID == "" && ev.FromVersion == "" {
		return nil
	}
	env := githubEnvironment(ev)
	ds, _, err := g.client.Repositories.ListDeployments(ctx, g.owner, g.repo, &github.DeploymentsListOptions{
		Environment: env, ListOptions: github.ListOptions{PerPage: 100},
	})
	if err != nil {
		return fmt.Errorf("github: list deployments to %s: %w", env, g.redact(err))
	}
	for _, d := range ds { // newest first
		var p DeploymentPayload
		if d.GetID() == restored || json.Unmarshal(d.Payload, &p) != nil {
			continue
		}
		if (ev.FromDeploymentID != "" && p.DeploymentID == ev.FromDeploymentID) ||
			(ev.FromDeploymentID == "" && p.Version == ev.FromVersion) {
			req := &github.DeploymentStatusRequest{
				State:       github.Ptr("inactive"),
				Description: github.Ptr(truncateRunes("Rolled back to "+ev.Version, GitHubDescriptionMax)),
				Environment: github.Ptr(env),
			}
			if _, _, err := g.client.Repositories.CreateDeploymentStatus(ctx, g.owner, g.repo, d.GetID(), req); err != nil {
				return fmt.Errorf("github: set deployment %d status inactive: %w", d.GetID(), g.redact(err))
			}
			return nil
		}
	}
	return nil
}

// deployment returns the GitHub deployment of ev, creating it when this
// notifier has not created it yet.
func (g *GitHub) deployment(ctx context.Context, ev Event) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if id, ok := g.ids[ev.DeploymentID]; ok {
		return id, nil
	}
	ref := ev.Ref
	if ref == "" {
		ref = ev.Commit
	}
	if ref == "" {
		ref = ev.Version
	}
	if ref == "" {
		return 0, fmt.Errorf("github: create deployment: event has no ref, commit or version")
	}
	d, _, err := g.client.Repositories.CreateDeployment(ctx, g.owner, g.repo, &github.DeploymentRequest{
		Ref:                   github.Ptr(ref),
		Environment:           github.Ptr(githubEnvironment(ev)),
		Payload:               DeploymentPayload{Version: ev.Version, DeploymentID: ev.DeploymentID},
		RequiredContexts:      &[]string{},
		AutoMerge:             github.Ptr(false),
		Description:           github.Ptr(truncateRunes("Deploy "+ev.Version+" ("+ev.DeploymentID+")", GitHubDescriptionMax)),
		ProductionEnvironment: github.Ptr(!ev.Test && environment(ev) == "production"),
		TransientEnvironment:  github.Ptr(ev.Test),
	})
	if err != nil {
		return 0, fmt.Errorf("github: create deployment of %s to %s in %s/%s: %w", ref, githubEnvironment(ev), g.owner, g.repo, g.redact(err))
	}
	g.ids[ev.DeploymentID] = d.GetID()
	return d.GetID(), nil
}

// redact makes sure no error text carries the token.
func (g *GitHub) redact(err error) error {
	return redactURLError(err, replacer(g.token))
}

func environment(ev Event) string {
	if ev.Environment == "" {
		return "production"
	}
	return ev.Environment
}

// TestEnvironment is the GitHub environment a test event for env is
// recorded in ("production-notify-test"): transient, never production.
func TestEnvironment(env string) string {
	if env == "" {
		env = "production"
	}
	return env + "-notify-test"
}

// githubEnvironment is the GitHub environment ev is recorded in.
func githubEnvironment(ev Event) string {
	if ev.Test {
		return TestEnvironment(ev.Environment)
	}
	return environment(ev)
}

// githubState is the deployment status ev sets.
func githubState(ev Event) string {
	switch {
	case ev.Test:
		return "inactive"
	case ev.Kind == Started:
		return "in_progress"
	case ev.Kind == Succeeded, ev.Kind == RolledBack && !ev.Automatic:
		return "success"
	}
	return "failure"
}

func githubDescription(ev Event) string {
	if ev.Test {
		return "Notification test: nothing is deployed"
	}
	switch ev.Kind {
	case Started:
		return "Deploying " + ev.Version
	case Succeeded:
		return "Deployed " + ev.Version
	}
	if ev.Kind == RolledBack && !ev.Automatic {
		if ev.FromVersion == "" {
			return "Rolled back to " + ev.Version
		}
		return "Rolled back to " + ev.Version + " from " + ev.FromVersion
	}
	d := ev.Title()
	if ev.Phase != "" {
		d += " in " + ev.Phase
	}
	if ev.Err != nil {
		d += ": " + ev.Err.Error()
	}
	return d
}

// truncateRunes cuts s to at most n characters, ending with "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
