package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebhookPostsEventAndSlackText(t *testing.T) {
	t.Parallel()
	rec := &recorder{fallback: reply(200, "ok")}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := &notify.Webhook{URL: srv.URL + "/services/T000/B000/secretpath", Header: http.Header{"X-Token": {"abc"}}}
	ev := sampleEvent(notify.Succeeded)
	ev.Duration = 95 * time.Second
	ev.ReleaseNotes = notify.ReleaseNotes{Markdown: "### Features\n- login", Short: "Features:\n• login"}
	require.NoError(t, w.Notify(context.Background(), ev))

	reqs := rec.all()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/services/T000/B000/secretpath", reqs[0].Path)
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
	assert.Equal(t, "abc", reqs[0].Header.Get("X-Token"))
	body := jsonMap(t, reqs[0].Body)
	assert.Equal(t, "succeeded", body["kind"])
	assert.Equal(t, "v1.0.1", body["version"])
	assert.Equal(t, "prod-v1.0.1-20241227_183050", body["deployment_id"])
	assert.Equal(t, "devops-user", body["actor"])
	assert.Equal(t, 95.0, body["duration_seconds"])
	assert.Equal(t, "2024-12-27T18:30:50Z", body["time"])
	assert.Equal(t, "### Features\n- login", body["release_notes"])
	assert.Equal(t, "Production Deployment Successful\n\nVersion: v1.0.1\nDeployment ID: prod-v1.0.1-20241227_183050\n"+
		"Commit: abc1234\nDeployed by: devops-user\nDuration: 1m35s\nTime: 2024-12-27 18:30:50 UTC\n\nChanges:\nFeatures:\n• login\n", body["text"])
}

func TestWebhookErrorsHideURL(t *testing.T) {
	t.Parallel()
	rec := &recorder{fallback: reply(500, `{"error":"boom"}`)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := &notify.Webhook{URL: srv.URL + "/hook/secretpath?token=qsecret"}
	err := w.Notify(context.Background(), sampleEvent(notify.Failed))
	var we *notify.WebhookError
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 500, we.StatusCode)
	assert.True(t, we.Temporary())

	srv.Close()
	err = w.Notify(context.Background(), sampleEvent(notify.Failed))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secretpath")
	assert.NotContains(t, err.Error(), "qsecret")
	assert.Contains(t, err.Error(), "REDACTED")
}
