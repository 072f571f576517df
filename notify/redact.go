package notify

import (
	"errors"
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
