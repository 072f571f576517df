package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Webhook POSTs events as JSON to a URL. The body holds the event's fields
// and a Slack-compatible "text", so a Slack or Mattermost incoming webhook
// shows the message as is.
type Webhook struct {
	// URL receives the POST. It is treated as a secret (incoming-webhook
	// URLs are): errors show only its scheme and host.
	URL string
	// Header is added to every request (an Authorization header, say).
	Header http.Header
	// HTTPClient sends the requests; default http.DefaultClient.
	HTTPClient *http.Client
}

// WebhookPayload is the JSON body a Webhook sends.
type WebhookPayload struct {
	Text         string    `json:"text"`
	Kind         string    `json:"kind"`
	Title        string    `json:"title"`
	Version      string    `json:"version"`
	DeploymentID string    `json:"deployment_id"`
	Environment  string    `json:"environment"`
	Commit       string    `json:"commit,omitempty"`
	Actor        string    `json:"actor,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	TestsSkipped bool      `json:"tests_skipped"`
	Phase        string    `json:"phase,omitempty"`
	Error        string    `json:"error,omitempty"`
	Automatic    bool      `json:"automatic"`
	DurationSec  float64   `json:"duration_seconds"`
	PublicURL    string    `json:"public_url,omitempty"`
	LogURL       string    `json:"log_url,omitempty"`
	ReleaseNotes string    `json:"release_notes,omitempty"`
	Time         time.Time `json:"time"`
}

// NewWebhookPayload returns the body sent for ev.
func NewWebhookPayload(ev Event) WebhookPayload {
	p := WebhookPayload{
		Text: ev.Text(false), Kind: ev.Kind.String(), Title: ev.Title(), Version: ev.Version,
		DeploymentID: ev.DeploymentID, Environment: environment(ev), Commit: ev.Commit, Actor: ev.Actor,
		Reason: ev.Reason, TestsSkipped: ev.TestsSkipped, Phase: ev.Phase, Automatic: ev.Automatic,
		DurationSec: ev.Duration.Seconds(), PublicURL: ev.PublicURL, LogURL: ev.LogURL,
		ReleaseNotes: ev.ReleaseNotes.Markdown, Time: ev.when().UTC(),
	}
	if ev.Err != nil {
		p.Error = ev.Err.Error()
	}
	return p
}

// WebhookError is a non-2xx answer.
type WebhookError struct {
	StatusCode int
	Body       string // first bytes of the answer
}

func (e *WebhookError) Error() string {
	return fmt.Sprintf("webhook: HTTP %d: %s", e.StatusCode, e.Body)
}

// Temporary reports whether retrying may help (429 and 5xx).
func (e *WebhookError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Name returns "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Notify POSTs ev.
func (w *Webhook) Notify(ctx context.Context, ev Event) error {
	body, err := json.Marshal(NewWebhookPayload(ev))
	if err != nil {
		return fmt.Errorf("webhook: encode event: %w", err)
	}
	redact := webhookRedactor(w.URL)
	status, raw, err := postJSON(ctx, w.HTTPClient, w.URL, w.Header, body, redact)
	if err != nil {
		return fmt.Errorf("webhook: post: %w", err)
	}
	if status/100 != 2 {
		return &WebhookError{StatusCode: status, Body: redact(trimTo(string(raw), 200))}
	}
	return nil
}

// webhookRedactor hides a webhook URL, its path and its query (where
// incoming-webhook URLs keep their secret) in any text.
func webhookRedactor(raw string) func(string) string {
	pairs := []string{raw, redactedURL(raw)}
	if u, err := url.Parse(raw); err == nil {
		pairs = append(pairs, u.String(), redactedURL(raw))
		if len(u.Path) > 1 {
			pairs = append(pairs, u.Path, "/"+redacted)
		}
		if u.RawQuery != "" {
			pairs = append(pairs, u.RawQuery, redacted)
		}
	}
	return strings.NewReplacer(pairs...).Replace
}
