package health

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// PostgresProbe connects to PostgreSQL and runs SELECT 1. A rejected
// password or role is permanent (ErrPermanent).
type PostgresProbe struct {
	// Label names the probe in reports; default "postgres HOST:PORT/DB"
	// (never the password).
	Label string
	// URL is a libpq connection string or URL
	// ("postgres://app:secret@127.0.0.1:5432/app?sslmode=disable"), with
	// hosts as seen from the Dialer's host.
	URL string
	// Dialer opens the connection; nil dials from this machine. Host names
	// are not resolved here: the Dialer's host resolves them.
	Dialer host.Dialer
}

// Name returns Label or "postgres HOST:PORT/DB".
func (p *PostgresProbe) Name() string {
	if p.Label != "" {
		return p.Label
	}
	cfg, err := pgconn.ParseConfig(p.URL)
	if err != nil {
		return "postgres (unparsable URL)"
	}
	return "postgres " + pgAddr(cfg.Host, cfg.Port) + "/" + cfg.Database
}

func pgAddr(h string, port uint16) string {
	if strings.HasPrefix(h, "/") {
		return h + "/.s.PGSQL." + strconv.Itoa(int(port))
	}
	return net.JoinHostPort(h, strconv.Itoa(int(port)))
}

// Check connects and runs SELECT 1.
func (p *PostgresProbe) Check(ctx context.Context) error { return p.Observe(ctx).Err }

// Observe connects, runs SELECT 1 and reports the time for both.
func (p *PostgresProbe) Observe(ctx context.Context) Observation {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c := startCheck(p.Name())

	cfg, err := pgx.ParseConfig(p.URL)
	if err != nil {
		// The parse error may quote the URL and its password: say less.
		return c.abort("cannot parse the PostgreSQL URL (not shown: it may hold a password)", nil)
	}
	password := cfg.Password
	cfg.RuntimeParams["application_name"] = "blueshift-health"
	p.route(&cfg.Config)

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		err = redactErr(err, password)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000") {
			return c.abort("the server rejected the credentials (check the role and password)", err)
		}
		return c.fail(reason("connect", err), err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		err = redactErr(err, password)
		return c.fail(reason("SELECT 1", err), err)
	}
	if one != 1 {
		return c.fail("SELECT 1 returned "+strconv.Itoa(one), nil)
	}
	return c.pass("SELECT 1 = 1")
}

// route makes pgx dial through the probe's Dialer: names stay unresolved
// (the far host resolves them), and an address pgx did not get from the
// configuration (a cancel request dials the connection's remote address,
// "0.0.0.0:0" over SSH) goes to the primary host instead.
func (p *PostgresProbe) route(cfg *pgconn.Config) {
	d := dialerOr(p.Dialer)
	known := map[string]bool{pgAddr(cfg.Host, cfg.Port): true}
	for _, fb := range cfg.Fallbacks {
		known[pgAddr(fb.Host, fb.Port)] = true
	}
	primary := pgAddr(cfg.Host, cfg.Port)
	primaryNet := "tcp"
	if strings.HasPrefix(cfg.Host, "/") {
		primaryNet = "unix"
	}
	cfg.LookupFunc = func(_ context.Context, h string) ([]string, error) { return []string{h}, nil }
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !known[addr] {
			network, addr = primaryNet, primary
		}
		return d.DialContext(ctx, network, addr)
	}
}

// redactErr hides secret in err's text, keeping err for errors.Is/As.
func redactErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) &&
		!strings.Contains(err.Error(), url.QueryEscape(secret)) {
		return err
	}
	return &redactedError{err: err, secret: secret}
}

type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string {
	s := strings.ReplaceAll(e.err.Error(), e.secret, "xxxxx")
	return strings.ReplaceAll(s, url.QueryEscape(e.secret), "xxxxx")
}

func (e *redactedError) Unwrap() error { return e.err }
