package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Email sends events as plain-text mail over SMTP. When Username is set,
// STARTTLS is required (TLSMandatory): a server that does not offer it is
// refused before any credential is sent. Without credentials STARTTLS is
// used when offered.
type Email struct {
	// Host and Port are the SMTP submission server; Port defaults to 587.
	Host string
	Port int
	// Username and Password authenticate (AUTH PLAIN, only after STARTTLS).
	Username, Password string
	// From is the sender address; To the recipients.
	From string
	To   []string
	// TLSConfig verifies the server (RootCAs for a private CA); default
	// the system roots with ServerName Host.
	TLSConfig *tls.Config
}

// ErrEmailConfig is returned for an Email without host, sender or recipients.
var ErrEmailConfig = errors.New("email notifier: host, from and at least one recipient are required")

// Name returns "email".
func (e *Email) Name() string { return "email" }

// EmailSubject is the subject of ev's mail: "[production] v1.0.1 deployed",
// "[production] v1.0.1 ROLLED BACK".
func EmailSubject(ev Event) string {
	what := map[Kind]string{Started: "deployment started", Succeeded: "deployed", Failed: "deployment FAILED", RolledBack: "ROLLED BACK"}[ev.Kind]
	if ev.Kind == RolledBack && ev.Automatic {
		what = "ROLLED BACK automatically"
	}
	return "[" + environment(ev) + "] " + ev.Version + " " + what
}

// Notify sends ev as one message to every recipient.
func (e *Email) Notify(ctx context.Context, ev Event) error {
	if e.Host == "" || e.From == "" || len(e.To) == 0 {
		return ErrEmailConfig
	}
	redact := replacer(e.Password)
	m := mail.NewMsg()
	if err := m.From(e.From); err != nil {
		return fmt.Errorf("email: from %q: %w", e.From, err)
	}
	if err := m.To(e.To...); err != nil {
		return fmt.Errorf("email: to %v: %w", e.To, err)
	}
	m.Subject(EmailSubject(ev))
	m.SetDateWithValue(ev.when())
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, ev.Text(true))

	port := e.Port
	if port == 0 {
		port = 587
	}
	tlsConf := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}
	if e.TLSConfig != nil {
		tlsConf = e.TLSConfig.Clone()
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = e.Host
		}
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTLSConfig(tlsConf), mail.WithoutNoop()}
	if e.Username != "" {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithSMTPAuth(mail.SMTPAuthPlain),
			mail.WithUsername(e.Username), mail.WithPassword(e.Password))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if deadline, ok := ctx.Deadline(); ok {
		// go-mail applies its timeout to each connection step.
		opts = append(opts, mail.WithTimeout(max(time.Until(deadline), time.Millisecond)))
	}
	c, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		return fmt.Errorf("email: client for %s:%d: %s", e.Host, port, redact(err.Error()))
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		msg := redact(err.Error())
		if strings.Contains(msg, "STARTTLS") {
			msg += " (refusing to send credentials without TLS)"
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("email: send via %s:%d: %s: %w", e.Host, port, msg, ctx.Err())
		}
		return fmt.Errorf("email: send via %s:%d: %s", e.Host, port, msg)
	}
	return nil
}
