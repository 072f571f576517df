package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/blueshift-deploy/blueshift/health"
)

// VerifyOptions tunes VerifyPublic. The zero value is ready to use.
type VerifyOptions struct {
	// Header is the response header naming the colour that answered.
	// Default ColourHeader ("X-Blueshift-Colour").
	Header string
	// JSONField, if set, reads the colour from this top-level field of a
	// JSON response body instead of a header: for a version endpoint such
	// as the demo app's /api/version ({"colour":"green",...}).
	JSONField string
	// Host, if set, is sent as the Host header (a public name served by a
	// proxy reached by IP).
	Host string
	// Client sends the requests. Default: a client with a 5s timeout that
	// opens a fresh connection for every request, so an old proxy worker's
	// kept-alive connection cannot answer.
	Client *http.Client
	// Timeout bounds the whole check. Default 30s.
	Timeout time.Duration
	// Interval is the pause between attempts. Default 200ms.
	Interval time.Duration
	// Consecutive is how many answers in a row must come from the wanted
	// colour with a 2xx or 3xx status. Default 3.
	Consecutive int
}

// VerifyPublic checks that url now answers from wantColour: it sends GET
// requests until opts.Consecutive answers in a row carry wantColour in
// opts.Header with a 2xx or 3xx status, and fails with an error wrapping
// ErrWrongColour (naming the last colour, status or error seen) when
// opts.Timeout passes first. The attempts are health.Wait's.
func VerifyPublic(ctx context.Context, url, wantColour string, opts VerifyOptions) error {
	if opts.Header == "" {
		opts.Header = ColourHeader
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			Timeout:   5 * time.Second,
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Consecutive <= 0 {
		opts.Consecutive = 3
	}
	var answered error // the last answer that was not cut short by the deadline
	probe := health.ProbeFunc{Label: "GET " + url, Func: func(ctx context.Context) error {
		got, status, err := fetchColour(ctx, opts, url)
		switch {
		case err != nil && ctx.Err() != nil && answered != nil:
			return answered // the wait's own deadline cut this attempt short
		case err != nil:
			answered = err
		case status >= 400:
			answered = fmt.Errorf("status %d (colour %q)", status, got)
		case got != wantColour:
			answered = fmt.Errorf("colour %q (status %d)", got, status)
		default:
			answered = nil
		}
		return answered
	}}
	pol := health.Policy{Attempts: int(opts.Timeout/opts.Interval) + 1, Interval: opts.Interval, AttemptTimeout: opts.Client.Timeout,
		Timeout: opts.Timeout, SuccessesInRow: opts.Consecutive}
	if _, err := health.Wait(ctx, probe, pol, nil); err != nil {
		return fmt.Errorf("verify %s answers from %s: %w: %w; check the proxy's configuration and that colour's containers",
			url, wantColour, ErrWrongColour, err)
	}
	return nil
}

func fetchColour(ctx context.Context, opts VerifyOptions, url string) (colour string, status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	if opts.Host != "" {
		req.Host = opts.Host
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("read response: %w", err)
	}
	if opts.JSONField == "" {
		return resp.Header.Get(opts.Header), resp.StatusCode, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", resp.StatusCode, fmt.Errorf("status %d: body is not a JSON object: %w", resp.StatusCode, err)
	}
	colour, _ = fields[opts.JSONField].(string)
	return colour, resp.StatusCode, nil
}
