package notify_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func emailTo(srv *smtpServer) *notify.Email {
	return &notify.Email{
		Host: "127.0.0.1", Port: srv.Port, Username: smtpUser, Password: smtpPassword,
		From: "blueshift@example.org", To: []string{"ops@example.org", "dev@example.org"},
		TLSConfig: &tls.Config{RootCAs: srv.Pool},
	}
}

func TestEmailRequiresSTARTTLSBeforeAuth(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, true)
	ev := sampleEvent(notify.RolledBack)
	ev.Automatic, ev.Phase, ev.Err = true, "verify", errors.New("error rate 12% > 5%")
	ev.Reason = "hotfix <checkout>"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, emailTo(srv).Notify(ctx, ev))

	events, msg := srv.snapshot()
	assert.Equal(t, []string{"auth tls=true", "mail blueshift@example.org", "rcpt ops@example.org", "rcpt dev@example.org", "data"}, events)
	wire := srv.wire.String()
	starttls, auth := strings.Index(wire, "\r\nSTARTTLS\r\n"), strings.Index(wire, "\r\nAUTH PLAIN")
	require.NotEqual(t, -1, starttls, wire)
	require.NotEqual(t, -1, auth, wire)
	assert.Less(t, starttls, auth, "AUTH must come after STARTTLS")
	text := string(msg)
	assert.Contains(t, text, "Subject: [production] v1.0.1 ROLLED BACK automatically\r\n")
	assert.Contains(t, text, "From: <blueshift@example.org>")
	assert.Contains(t, text, "Content-Type: text/plain")
	assert.Contains(t, text, "AUTOMATIC ROLLBACK EXECUTED (Production)")
	assert.Contains(t, text, "Deployment ID: prod-v1.0.1-20241227_183050")
	assert.Contains(t, text, "Phase: verify")
	assert.Contains(t, text, "Reason: hotfix <checkout>")
	assert.Contains(t, text, "Time: 2024-12-27 18:30:50 UTC")
}

func TestEmailRefusesServerWithoutSTARTTLSWhenCredentialsSet(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := emailTo(srv).Notify(ctx, sampleEvent(notify.Succeeded))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "STARTTLS")
	assert.Contains(t, err.Error(), "refusing to send credentials without TLS")
	assert.NotContains(t, err.Error(), smtpPassword)
	events, msg := srv.snapshot()
	assert.Empty(t, events, "no AUTH, no mail")
	assert.Empty(t, msg)
	assert.NotContains(t, srv.wire.String(), "\r\nAUTH ", "the client sent no AUTH command")
}

func TestEmailUntrustedCertificateFails(t *testing.T) {
	t.Parallel()
	srv := startSMTP(t, true)
	e := emailTo(srv)
	e.TLSConfig = nil // system roots do not trust the test certificate
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Notify(ctx, sampleEvent(notify.Succeeded))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	events, _ := srv.snapshot()
	assert.Empty(t, events)
}

func TestEmailSubjects(t *testing.T) {
	t.Parallel()
	for k, want := range map[notify.Kind]string{
		notify.Started:    "[production] v1.0.1 deployment started",
		notify.Succeeded:  "[production] v1.0.1 deployed",
		notify.Failed:     "[production] v1.0.1 deployment FAILED",
		notify.RolledBack: "[production] v1.0.1 ROLLED BACK",
	} {
		assert.Equal(t, want, notify.EmailSubject(sampleEvent(k)))
	}
}

func TestEmailConfigRequired(t *testing.T) {
	t.Parallel()
	err := (&notify.Email{Host: "x"}).Notify(context.Background(), sampleEvent(notify.Started))
	assert.ErrorIs(t, err, notify.ErrEmailConfig)
}
