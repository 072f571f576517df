package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// redacted replaces secrets in texts shown to people.
const redacted = "REDACTED"

// redactURLError rewrites the URL of a *url.Error (which net/http puts in
// every transport error) with redact applied, keeping the error chain below
// it (context.DeadlineExceeded, net errors) intact for errors.Is.
func redactURLError(err error, redact func(string) string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redact(ue.URL), Err: ue.Err}
	}
	if s := err.Error(); redact(s) != s {
		return errors.New(redact(s))
	}
	return err
}

// replacer returns a func replacing every non-empty secret with REDACTED.
func replacer(secrets ...string) func(string) string {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, redacted)
		}
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// redactedURL shows only a URL's scheme and host: webhook URLs carry their
// secret in the path or query.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return redacted
	}
	return u.Scheme + "://" + u.Host + "/" + redacted
}

// maxAnswer bounds how much of an HTTP answer is read.
const maxAnswer = 1 << 20

// postJSON POSTs body to rawURL and returns the answer's status and body.
// Its errors pass through redact, which must remove every secret rawURL
// holds; they keep the chain below (context errors) for errors.Is.
func postJSON(ctx context.Context, client *http.Client, rawURL string, header http.Header, body []byte, redact func(string) string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, errors.New("build request: " + redact(err.Error()))
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, redactURLError(err, redact)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer (HTTP %d): %w", resp.StatusCode, redactURLError(err, redact))
	}
	return resp.StatusCode, raw, nil
}
