package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// HTTPProbe requests a URL and checks the response's status and, optionally,
// its body. Redirects are not followed: a 302 is seen as a 302.
//
// Each check opens its own connection (no keep-alive), so a check proves the
// server still accepts connections, and a probe is safe to copy and to use
// from several goroutines.
type HTTPProbe struct {
	// Label names the probe in reports; default "METHOD URL".
	Label string
	// Method is the request method; default GET.
	Method string
	// URL is the absolute http or https URL to request.
	URL string
	// Host, when set, is sent as the Host header (and used as the TLS server
	// name), for checking a colour's own port as if it were the public site.
	Host string
	// Header holds extra request headers.
	Header http.Header
	// Expect lists the statuses that count as healthy; default 200.
	Expect []int
	// BodyContains, when set, must occur in the response body.
	BodyContains string
	// JSONField, when set, is a dotted path into the JSON response body
	// ("status", "checks.database.status", "items.0.name") whose value must
	// equal JSONValue. Strings compare as they are; numbers, booleans and
	// null compare in their JSON spelling ("1", "true", "null").
	JSONField, JSONValue string
	// JSON, when set, maps more dotted paths to the values they must have,
	// compared as JSONField's; every one must match.
	JSON map[string]string

	// Dialer opens the connection; nil dials from this machine.
	Dialer host.Dialer
	// RootCAs verifies the server's certificate; nil uses the system pool.
	// Verification is always on unless InsecureSkipVerify is set.
	RootCAs *x509.CertPool
	// InsecureSkipVerify turns certificate verification off. Set it only
	// deliberately (a colour's port with the public site's certificate is
	// better checked with Host or ServerName).
	InsecureSkipVerify bool
	// ServerName overrides the TLS server name; default the Host field's host,
	// else the URL's host.
	ServerName string
}

// maxBody is how much of a response body a check reads.
const maxBody = 1 << 20

// Name returns Label or "METHOD URL".
func (p *HTTPProbe) Name() string {
	if p.Label != "" {
		return p.Label
	}
	name := p.method() + " " + redactURL(p.URL)
	if p.Host != "" {
		name += " (Host: " + p.Host + ")"
	}
	return name
}

func (p *HTTPProbe) method() string {
	if p.Method == "" {
		return http.MethodGet
	}
	return p.Method
}

func (p *HTTPProbe) expect() []int {
	if len(p.Expect) == 0 {
		return []int{http.StatusOK}
	}
	return p.Expect
}

// Check requests the URL once; see Observe.
func (p *HTTPProbe) Check(ctx context.Context) error { return p.Observe(ctx).Err }

// Observe requests the URL once and reports the status, the time to the end
// of the body, and whether the response matched. The check is bounded by
// ctx (Policy.AttemptTimeout, Suite.Timeout and Monitor.Timeout set it), or
// by DefaultTimeout when ctx has no deadline.
func (p *HTTPProbe) Observe(ctx context.Context) Observation {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	c := startCheck(p.Name())

	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.abort("invalid URL: want an absolute http:// or https:// URL", nil)
	}
	fields := p.jsonFields()
	if len(fields) > 0 && p.BodyContains != "" {
		return c.abort("set BodyContains or JSON fields, not both", nil)
	}
	req, err := http.NewRequestWithContext(ctx, p.method(), u.String(), nil)
	if err != nil {
		return c.abort("invalid request", err)
	}
	for k, vs := range p.Header {
		req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
	}
	if p.Host != "" {
		req.Host = p.Host
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "blueshift-health")
	}

	tr := p.transport(u)
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		err = unwrapURLError(err)
		return c.fail(describeHTTP(err), err)
	}
	defer resp.Body.Close()
	c.obs.Status = resp.StatusCode
	wantBody := p.BodyContains != "" || len(fields) > 0
	var body []byte
	if wantBody || !slices.Contains(p.expect(), resp.StatusCode) {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	}
	if err != nil {
		err = unwrapURLError(err)
		return c.fail(reason("reading the body", err), err)
	}

	if !slices.Contains(p.expect(), resp.StatusCode) {
		why := fmt.Sprintf("status %s, want %s", statusText(resp.StatusCode), joinInts(p.expect()))
		if snip := snippet(body); snip != "" {
			why += ": body: " + snip
		}
		return c.fail(why, nil)
	}
	if p.BodyContains != "" && !bytes.Contains(body, []byte(p.BodyContains)) {
		return c.fail(fmt.Sprintf("status %d but the body lacks %q: body: %s", resp.StatusCode, p.BodyContains, snippet(body)), nil)
	}
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		got, err := jsonField(body, f)
		if err != nil {
			return c.fail(fmt.Sprintf("status %d but %s", resp.StatusCode, err), nil)
		}
		if got != fields[f] {
			return c.fail(fmt.Sprintf("status %d but JSON %s is %q, want %q", resp.StatusCode, f, got, fields[f]), nil)
		}
	}
	return c.pass(statusText(resp.StatusCode))
}

// jsonFields is JSON with JSONField added.
func (p *HTTPProbe) jsonFields() map[string]string {
	if p.JSONField == "" {
		return p.JSON
	}
	fields := maps.Clone(p.JSON)
	if fields == nil {
		fields = map[string]string{}
	}
	fields[p.JSONField] = p.JSONValue
	return fields
}

func (p *HTTPProbe) transport(u *url.URL) *http.Transport {
	serverName := p.ServerName
	if serverName == "" && p.Host != "" {
		serverName = hostOnly(p.Host)
	}
	if serverName == "" {
		serverName = u.Hostname()
	}
	d := dialerOr(p.Dialer)
	return &http.Transport{
		Proxy:             nil, // a probe checks the address it names, never a proxy from the environment
		DialContext:       d.DialContext,
		DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{
			RootCAs:            p.RootCAs,
			ServerName:         serverName,
			InsecureSkipVerify: p.InsecureSkipVerify, //nolint:gosec // explicit, documented opt-in
			MinVersion:         tls.VersionTLS12,
		},
		MaxResponseHeaderBytes: 64 << 10,
	}
}

func describeHTTP(err error) string {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown):
		return "TLS certificate signed by an unknown authority (give the probe RootCAs, or set InsecureSkipVerify deliberately)"
	case errors.As(err, &hostname):
		return "TLS certificate is not valid for this name (set Host or ServerName to the site's name)"
	case errors.As(err, &invalid):
		return "TLS certificate is invalid (expired or not yet valid?)"
	case errors.As(err, &verify):
		return "TLS certificate verification failed"
	}
	return reason("request", err)
}

// unwrapURLError drops the *url.Error layer: the probe's name already says
// which URL was requested.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " or ")
}

// snippet is the start of a body on one line, for error messages.
func snippet(body []byte) string {
	const n = 120
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// redactURL hides a password in a URL's userinfo.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(unparsable URL)"
		}
		return raw
	}
	return u.Redacted()
}

// jsonField returns the value at a dotted path in a JSON document, spelled
// as JSONValue compares it.
func jsonField(body []byte, path string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("the body is not JSON (%v): %s", err, snippet(body))
	}
	walked := ""
	for _, key := range strings.Split(path, ".") {
		if walked != "" {
			walked += "."
		}
		walked += key
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[key]
			if !ok {
				return "", fmt.Errorf("JSON has no field %s", walked)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return "", fmt.Errorf("JSON %s: no element %q in an array of %d", walked, key, len(node))
			}
			v = node[i]
		default:
			return "", fmt.Errorf("JSON has no field %s (its parent is not an object or array)", walked)
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		return x.String(), nil
	default:
		b, _ := json.Marshal(x)
		return string(b), nil
	}
}
