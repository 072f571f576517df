package notify_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/blueshift-deploy/blueshift/notify/githubtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fake is a Notifier scripted by a function of the attempt number.
type fake struct {
	name  string
	calls atomic.Int32
	fn    func(ctx context.Context, attempt int) error
}

func (f *fake) Name() string { return f.name }
func (f *fake) Notify(ctx context.Context, _ notify.Event) error {
	return f.fn(ctx, int(f.calls.Add(1)))
}

type permanent struct{}

func (permanent) Error() string   { return "chat not found" }
func (permanent) Temporary() bool { return false }

func TestDispatcherRetriesTemporaryErrorsOnly(t *testing.T) {
	t.Parallel()
	flaky := &fake{name: "flaky", fn: func(_ context.Context, n int) error {
		if n < 3 {
			return errors.New("502")
		}
		return nil
	}}
	perm := &fake{name: "perm", fn: func(context.Context, int) error { return permanent{} }}
	boom := &fake{name: "boom", fn: func(context.Context, int) error { panic("nil map") }}
	d := &notify.Dispatcher{Notifiers: []notify.Notifier{flaky, perm, boom}, Retries: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second}
	res := d.Send(context.Background(), sampleEvent(notify.Started))
	require.Len(t, res, 3)
	assert.Equal(t, "flaky", res[0].Notifier)
	assert.NoError(t, res[0].Err)
	assert.Equal(t, 3, res[0].Attempts)
	assert.Equal(t, "perm", res[1].Notifier)
	assert.EqualError(t, res[1].Err, "chat not found")
	assert.Equal(t, 1, res[1].Attempts)
	assert.ErrorIs(t, res[2].Err, notify.ErrPanic)
	assert.Equal(t, 4, res[2].Attempts)
}

func TestDispatcherBoundsEachNotifierAndRunsConcurrently(t *testing.T) {
	t.Parallel()
	slow := func(name string) *fake {
		return &fake{name: name, fn: func(ctx context.Context, _ int) error {
			select {
			case <-time.After(300 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	}
	// deaf ignores its context entirely.
	deaf := &fake{name: "deaf", fn: func(context.Context, int) error { time.Sleep(3 * time.Second); return nil }}
	d := &notify.Dispatcher{Notifiers: []notify.Notifier{slow("a"), slow("b"), slow("c"), deaf}, Timeout: time.Second}
	start := time.Now()
	res := d.Send(context.Background(), sampleEvent(notify.Succeeded))
	took := time.Since(start)
	assert.Less(t, took, 1500*time.Millisecond, "bounded by the timeout, concurrent")
	for _, r := range res[:3] {
		assert.NoError(t, r.Err)
		assert.GreaterOrEqual(t, r.Duration, 300*time.Millisecond)
	}
	assert.ErrorIs(t, res[3].Err, context.DeadlineExceeded)
	assert.Contains(t, res[3].Err.Error(), "deaf: gave up waiting")
}

// TestDispatcherOutage points every real notifier at a broken service: down,
// hanging, 500. Send still returns within the timeout, with one error each.
func TestDispatcherOutage(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	hanging := httptest.NewServer(http.HandlerFunc(hang))
	defer hanging.Close()
	failing := httptest.NewServer(http.HandlerFunc(reply(500, `{"message":"Server Error"}`)))
	defer failing.Close()
	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: failing.URL})
	require.NoError(t, err)
	d := &notify.Dispatcher{
		Notifiers: []notify.Notifier{
			&notify.Telegram{Token: botToken, PublicChatID: "1", BaseURL: down.URL, Backoff: 50 * time.Millisecond},
			&notify.Telegram{Token: botToken, PublicChatID: "1", BaseURL: hanging.URL},
			gh,
			&notify.Webhook{URL: failing.URL + "/hook"},
			&notify.Email{Host: "127.0.0.1", Port: portOf(t, down.URL), From: "a@b.c", To: []string{"d@e.f"}},
		},
		Timeout: 700 * time.Millisecond, Retries: 1, Backoff: 10 * time.Millisecond,
	}
	start := time.Now()
	res := d.Send(context.Background(), sampleEvent(notify.Failed))
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	require.Len(t, res, 5)
	for _, r := range res {
		assert.Error(t, r.Err, r.Notifier)
		assert.LessOrEqual(t, r.Duration, time.Second, r.Notifier)
	}
	assert.ErrorIs(t, res[1].Err, context.DeadlineExceeded)
	assert.Equal(t, 2, res[3].Attempts, "webhook 500 retried once")
}

func portOf(t *testing.T, u string) int {
	t.Helper()
	var port int
	_, err := fmt.Sscanf(u[strings.LastIndexByte(u, ':')+1:], "%d", &port)
	require.NoError(t, err)
	return port
}

// TestNoSecretsAnywhere runs every notifier through successes and failures,
// collects every error, log line and request the servers saw, and greps for
// the configured secrets. They may appear only where they must: the Telegram
// URL path, the GitHub Authorization header and the SMTP AUTH exchange.
func TestNoSecretsAnywhere(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	tgRec := &recorder{fallback: reply(200, okAnswer), replies: []func(http.ResponseWriter, *http.Request){
		reply(502, "bad gateway"), reply(429, `{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":1}}`),
	}}
	tgSrv := httptest.NewServer(tgRec)
	defer tgSrv.Close()
	ghFake := &githubtest.Server{}
	gh, err := notify.NewGitHub(notify.GitHubConfig{Token: githubToken, Repository: "acme/shop", BaseURL: ghFake.Start(t) + "/"})
	require.NoError(t, err)
	smtpOK, smtpPlain := startSMTP(t, true), startSMTP(t, false)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	notifiers := []notify.Notifier{
		&notify.Telegram{Token: botToken, PublicChatID: "1", LogChatID: "2", BaseURL: tgSrv.URL, Backoff: 10 * time.Millisecond, Logger: logs.logger()},
		&notify.Telegram{Token: botToken, PublicChatID: "1", BaseURL: down.URL, Backoff: 10 * time.Millisecond, Logger: logs.logger()},
		gh,
		emailTo(smtpOK),
		emailTo(smtpPlain),
		&notify.Email{Host: "127.0.0.1", Port: portOf(t, down.URL), Username: smtpUser, Password: smtpPassword, From: "a@b.c", To: []string{"d@e.f"},
			TLSConfig: &tls.Config{RootCAs: smtpOK.Pool}},
		&notify.Webhook{URL: down.URL + "/services/T0/B0/" + webhookSecret},
		&notify.Webhook{URL: tgSrv.URL + "/hook?key=" + webhookSecret}, // answers 200 with Telegram's body
	}
	d := &notify.Dispatcher{Notifiers: notifiers, Timeout: 5 * time.Second, Retries: 1, Backoff: 10 * time.Millisecond, Logger: logs.logger()}
	var out strings.Builder
	for _, k := range []notify.Kind{notify.Started, notify.Succeeded, notify.Failed} {
		for _, r := range d.Send(context.Background(), sampleEvent(k)) {
			fmt.Fprintf(&out, "%s %v %d %+v %#v\n", r.Notifier, r.Err, r.Attempts, r.Err, r.Err)
		}
	}
	ghFake.Fail = 401
	ev := sampleEvent(notify.Started)
	ev.DeploymentID = "new"
	for _, r := range d.Send(context.Background(), ev) {
		fmt.Fprintf(&out, "%s %v %+v\n", r.Notifier, r.Err, r.Err)
	}
	assert.Contains(t, out.String(), "telegram")
	assert.Contains(t, out.String(), "401 Bad credentials", "the failures did happen")
	assert.Contains(t, out.String(), "STARTTLS")

	// What the servers saw, minus the fields that must carry a secret.
	for _, r := range tgRec.all() {
		if r.Path == "/hook" {
			continue // the webhook's own request: its URL is the secret
		}
		require.Equal(t, "/bot"+botToken+"/sendMessage", r.Path)
		fmt.Fprintf(&out, "%s %v %s\n", r.Method, r.Header, r.Body)
	}
	for _, r := range ghFake.Requests() {
		require.Equal(t, "Bearer "+githubToken, r.Header.Get("Authorization"))
		r.Header.Del("Authorization")
		fmt.Fprintf(&out, "%s %s %v %s\n", r.Method, r.Path, r.Header, r.Body)
	}
	for _, s := range []*smtpServer{smtpOK, smtpPlain} {
		_, msg := s.snapshot()
		out.Write(msg)
		for _, line := range strings.Split(s.wire.String(), "\n") {
			if !strings.HasPrefix(line, "AUTH ") {
				out.WriteString(line + "\n")
			}
		}
	}
	out.WriteString(logs.String())
	for _, secret := range []string{botToken, githubToken, smtpPassword, webhookSecret} {
		assert.NotContains(t, out.String(), secret)
	}
	assert.Contains(t, logs.String(), "telegram: retrying", "logs were collected")
}
