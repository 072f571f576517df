package notify_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Secrets every test configures; TestNoSecretsAnywhere greps for them.
const (
	botToken      = "123456:AAH-secret-bot-token-XYZ"
	githubToken   = "ghp_secretGitHubToken0123456789"
	smtpPassword  = "s3cret-smtp-pa55word"
	smtpUser      = "deploy@example.org"
	webhookSecret = "whsec-0123456789abcdef"
)

// recorded is one HTTP request a test server received.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	At           time.Time
}

// recorder records requests and answers them with the next scripted reply.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
	replies  []func(w http.ResponseWriter, r *http.Request)
	fallback func(w http.ResponseWriter, r *http.Request)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.requests = append(rec.requests, recorded{r.Method, r.URL.Path, r.Header.Clone(), body, time.Now()})
	reply := rec.fallback
	if len(rec.replies) > 0 {
		reply, rec.replies = rec.replies[0], rec.replies[1:]
	}
	rec.mu.Unlock()
	reply(w, r)
}

func (rec *recorder) all() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.requests...)
}

func reply(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hang blocks until the client goes away. It reads the body first: the
// server notices a closed connection only once the body is consumed.
func hang(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// logBuffer is a slog.Logger writing into a buffer safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// smtpServer is a local SMTP server requiring AUTH PLAIN, recording what
// happened in order.
type smtpServer struct {
	Addr    string
	Port    int
	Pool    *x509.CertPool
	mu      sync.Mutex
	events  []string // "auth tls=true", "mail from", "data"
	message []byte
	authed  int
	wire    logBuffer // protocol transcript
}

func (s *smtpServer) record(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *smtpServer) snapshot() ([]string, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...), append([]byte(nil), s.message...)
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	auth bool
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.record("auth tls=" + map[bool]string{true: "true", false: "false"}[isTLS])
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.srv.record("mail " + from)
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.record("rcpt " + to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.message = b
	s.srv.mu.Unlock()
	s.srv.record("data")
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// startSMTP starts a server on 127.0.0.1:0; withTLS offers STARTTLS. The
// server would accept AUTH without TLS (AllowInsecureAuth), so only the
// client's policy keeps credentials off the plain wire.
func startSMTP(t *testing.T, withTLS bool) *smtpServer {
	t.Helper()
	srv := &smtpServer{}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: srv, conn: c}, nil
	})
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.Debug = &srv.wire
	if withTLS {
		cert, pool := selfSigned(t)
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.Pool = pool
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	srv.Addr = l.Addr().String()
	srv.Port = l.Addr().(*net.TCPAddr).Port
	return srv
}

// sampleEvent is the seed's success message as an event.
func sampleEvent(k notify.Kind) notify.Event {
	return notify.Event{
		Kind:         k,
		Version:      "v1.0.1",
		DeploymentID: "prod-v1.0.1-20241227_183050",
		Environment:  "production",
		Commit:       "abc1234def5678900000000000000000000000000",
		Actor:        "devops-user",
		Time:         time.Date(2024, 12, 27, 18, 30, 50, 0, time.UTC),
	}
}
