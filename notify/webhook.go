package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	redact := func(s string) string { return replacer(w.URL)(s) }
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: bad url %s", redactedURL(w.URL))
	}
	for k, vs := range w.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	client := w.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: post: %w", redactURLError(err, func(string) string { return redactedURL(w.URL) }))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &WebhookError{StatusCode: resp.StatusCode, Body: redact(trimTo(string(raw), 200))}
	}
	return nil
}
