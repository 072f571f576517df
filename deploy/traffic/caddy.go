package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// DefaultCaddyAdmin is Caddy's default admin API address.
const DefaultCaddyAdmin = "127.0.0.1:2019"

// CaddyConfig configures a Caddy switcher.
type CaddyConfig struct {
	// Admin is Caddy's admin API address as seen from the host:
	// "127.0.0.1:2019" or "unix//run/caddy/admin.sock". Default
	// DefaultCaddyAdmin.
	Admin string
	// Routes name the reverse_proxy handlers to switch: Route.Name is the
	// handler's "@id" in Caddy's JSON configuration. Required.
	Routes []Route
	// ColourHeader is the response header each handler sets to the colour
	// it proxies to. Default ProxyColourHeader; "-" sets none.
	ColourHeader string
	// Dialer reaches the admin API from the host Caddy runs on. Required.
	Dialer host.Dialer
	// Timeout bounds each admin API request. Default 10s.
	Timeout time.Duration
	// Logger receives debug records of each step; nil discards them.
	Logger *slog.Logger
}

// Caddy switches traffic by replacing the upstreams of reverse_proxy
// handlers through Caddy's admin API. Each handler is replaced in one
// request, which Caddy applies atomically and gracefully; with several
// routes a failure part-way puts the already switched ones back. Create it
// with NewCaddy.
type Caddy struct {
	cfg    CaddyConfig
	log    *slog.Logger
	client *http.Client
	base   string
	mu     sync.Mutex
}

var _ Switcher = (*Caddy)(nil)

// NewCaddy checks cfg, fills in its defaults and returns the switcher.
func NewCaddy(cfg CaddyConfig) (*Caddy, error) {
	if err := validateRoutes("caddy", cfg.Routes); err != nil {
		return nil, err
	}
	if cfg.Dialer == nil {
		return nil, errors.New("caddy: dialer: required (the host Caddy runs on)")
	}
	if cfg.Admin == "" {
		cfg.Admin = DefaultCaddyAdmin
	}
	if cfg.ColourHeader == "" {
		cfg.ColourHeader = ProxyColourHeader
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	network, addr, base := "tcp", cfg.Admin, "http://"+cfg.Admin
	if p, ok := strings.CutPrefix(cfg.Admin, "unix/"); ok {
		// Caddy skips its Host check for unix sockets.
		network, addr, base = "unix", p, "http://localhost"
	} else if _, _, err := net.SplitHostPort(cfg.Admin); err != nil {
		return nil, fmt.Errorf("caddy: admin: %q: want host:port or unix/<path>", cfg.Admin)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dialer := cfg.Dialer
	client := &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			// Caddy restarts its admin endpoint after every config change
			// and closes kept-alive connections: use a fresh one each time.
			DisableKeepAlives: true,
		},
	}
	return &Caddy{cfg: cfg, log: log, client: client, base: base}, nil
}

// APIError is a response of Caddy's admin API other than 200 OK.
type APIError struct {
	Method, Path string
	Status       int
	Message      string // Caddy's "error" field, or the body's start
}

func (e *APIError) Error() string {
	return fmt.Sprintf("caddy admin API: %s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

// Is lets errors.Is match a 400 (a configuration Caddy rejected) as
// ErrConfigInvalid.
func (e *APIError) Is(target error) bool {
	return target == ErrConfigInvalid && e.Status == http.StatusBadRequest
}

// do sends one admin request; it returns the body and the ETag.
func (c *Caddy) do(ctx context.Context, method, path string, body []byte, ifMatch string) ([]byte, string, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, "", fmt.Errorf("caddy admin API: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("caddy admin API at %s: %s %s: %w (is Caddy running with its admin API there?)", c.cfg.Admin, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", fmt.Errorf("caddy admin API: %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		return nil, "", &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: msg}
	}
	return data, resp.Header.Get("Etag"), nil
}

// handler is a reverse_proxy handler's JSON, kept whole so that fields this
// package does not know survive a switch.
type handler map[string]json.RawMessage

func (c *Caddy) getHandler(ctx context.Context, id string) (handler, string, error) {
	data, etag, err := c.do(ctx, http.MethodGet, "/id/"+id, nil, "")
	if err != nil {
		var api *APIError
		if errors.As(err, &api) && api.Status == http.StatusNotFound {
			return nil, "", fmt.Errorf("%w: Caddy has no object with \"@id\": %q (give the route's reverse_proxy handler that @id): %w", ErrNotWired, id, err)
		}
		return nil, "", err
	}
	var h handler
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, "", fmt.Errorf("%w: @id %q is not a JSON object: %w", ErrNotWired, id, err)
	}
	var kind string
	_ = json.Unmarshal(h["handler"], &kind)
	if kind != "reverse_proxy" {
		return nil, "", fmt.Errorf("%w: @id %q is a %q handler, want reverse_proxy", ErrNotWired, id, kind)
	}
	return h, etag, nil
}

func (h handler) dials() []string {
	var ups []struct {
		Dial string `json:"dial"`
	}
	_ = json.Unmarshal(h["upstreams"], &ups)
	out := make([]string, 0, len(ups))
	for _, u := range ups {
		out = append(out, u.Dial)
	}
	sort.Strings(out)
	return out
}

// colourOf returns the colour whose addresses are exactly dials.
func colourOf(u Upstreams, dials []string) (string, bool) {
	for colour, addrs := range u {
		want := append([]string(nil), addrs...)
		sort.Strings(want)
		if strings.Join(want, ",") == strings.Join(dials, ",") {
			return colour, true
		}
	}
	return "", false
}

// Live returns the colour whose upstreams the handlers proxy to. All routes
// must agree.
func (c *Caddy) Live(ctx context.Context) (string, error) {
	live := ""
	for _, r := range c.cfg.Routes {
		h, _, err := c.getHandler(ctx, r.Name)
		if err != nil {
			return "", fmt.Errorf("caddy: live colour: %w", err)
		}
		dials := h.dials()
		if len(dials) == 0 {
			return "", fmt.Errorf("caddy: live colour: %w: handler %q has no upstreams", ErrNoLiveColour, r.Name)
		}
		colour, ok := colourOf(r.Upstreams, dials)
		if !ok {
			return "", fmt.Errorf("caddy: live colour: handler %q proxies to %s, which is no colour's upstreams (%s): switch to a colour to fix it", r.Name, strings.Join(dials, ","), describe(r.Upstreams))
		}
		if live != "" && colour != live {
			return "", fmt.Errorf("caddy: live colour: routes disagree: %q goes to %s, an earlier route to %s: switch to one colour to fix it", r.Name, colour, live)
		}
		live = colour
	}
	return live, nil
}

func describe(u Upstreams) string {
	var parts []string
	for _, c := range colours(u) {
		parts = append(parts, c+"="+strings.Join(u[c], ","))
	}
	return strings.Join(parts, " ")
}

// switched returns h proxying to addrs and marking responses with colour.
func (c *Caddy) switched(h handler, colour string, addrs []string) (handler, error) {
	out := handler{}
	for k, v := range h {
		out[k] = v
	}
	ups := make([]map[string]string, 0, len(addrs))
	for _, a := range addrs {
		ups = append(ups, map[string]string{"dial": a})
	}
	js, err := json.Marshal(ups)
	if err != nil {
		return nil, err
	}
	out["upstreams"] = js
	if c.cfg.ColourHeader != "-" {
		headers := map[string]any{}
		if raw, ok := h["headers"]; ok {
			if err := json.Unmarshal(raw, &headers); err != nil {
				return nil, fmt.Errorf("handler headers: %w", err)
			}
		}
		resp, _ := headers["response"].(map[string]any)
		if resp == nil {
			resp = map[string]any{}
		}
		set, _ := resp["set"].(map[string]any)
		if set == nil {
			set = map[string]any{}
		}
		set[c.cfg.ColourHeader] = []string{colour}
		resp["set"] = set
		headers["response"] = resp
		if out["headers"], err = json.Marshal(headers); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Switch replaces each route's handler with one proxying to colour. A route
// that fails puts the routes switched before it back.
func (c *Caddy) Switch(ctx context.Context, colour string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := checkColour(c.cfg.Routes, colour); err != nil {
		return fmt.Errorf("caddy: switch to %s: %w", colour, err)
	}
	type done struct {
		id  string
		old handler
	}
	var switched []done
	undo := func() error {
		var errs []error
		for i := len(switched) - 1; i >= 0; i-- {
			body, _ := json.Marshal(switched[i].old)
			if _, _, err := c.do(context.WithoutCancel(ctx), http.MethodPatch, "/id/"+switched[i].id, body, ""); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	for _, r := range c.cfg.Routes {
		old, err := c.patchRoute(ctx, r, colour)
		if err != nil {
			if uerr := undo(); uerr != nil {
				return fmt.Errorf("caddy: switch to %s: route %q: %w; putting the earlier routes back also failed: %w", colour, r.Name, err, uerr)
			}
			return fmt.Errorf("caddy: switch to %s: route %q: %w (traffic is untouched)", colour, r.Name, err)
		}
		switched = append(switched, done{r.Name, old})
	}
	return nil
}

// patchRoute switches one handler, retrying when someone else changed the
// configuration between reading and writing it; it returns the old handler.
func (c *Caddy) patchRoute(ctx context.Context, r Route, colour string) (handler, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var old handler
		var etag string
		old, etag, err = c.getHandler(ctx, r.Name)
		if err != nil {
			return nil, err
		}
		var next handler
		if next, err = c.switched(old, colour, r.Upstreams[colour]); err != nil {
			return nil, err
		}
		body, _ := json.Marshal(next)
		c.log.Debug("caddy: replacing handler", "id", r.Name, "colour", colour)
		_, _, err = c.do(ctx, http.MethodPatch, "/id/"+r.Name, body, etag)
		var api *APIError
		if errors.As(err, &api) && api.Status == http.StatusPreconditionFailed {
			continue
		}
		if err != nil {
			return nil, err
		}
		return old, nil
	}
	return nil, fmt.Errorf("the configuration kept changing underneath (another client is editing it): %w", err)
}

// Validate checks that the admin API answers and every route's @id names a
// reverse_proxy handler.
func (c *Caddy) Validate(ctx context.Context) error {
	for _, r := range c.cfg.Routes {
		if _, _, err := c.getHandler(ctx, r.Name); err != nil {
			return fmt.Errorf("caddy: validate: %w", err)
		}
	}
	return nil
}
