package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/health"
)

// DefaultCaddyAdmin is Caddy's default admin API address.
const DefaultCaddyAdmin = "127.0.0.1:2019"

// DefaultCaddyDir is where a Caddy switcher keeps its colour files by
// default.
const DefaultCaddyDir = "/etc/caddy/blueshift"

// CaddyConfig configures a Caddy switcher.
type CaddyConfig struct {
	// Admin is Caddy's admin API address as seen from the host:
	// "127.0.0.1:2019" or "unix//run/caddy/admin.sock". Default
	// DefaultCaddyAdmin. The switcher only reads the configuration
	// through it (to check the wiring); it never changes it.
	Admin string
	// Routes name the routes to switch: Route.Name is the "@id" of the
	// route's subroute handler (CaddyRouteHandler) in Caddy's JSON
	// configuration. Required.
	Routes []Route
	// Dir is the directory on Caddy's host holding a directory per route
	// (CaddyColourDir) with the live colour's file, which Caddy looks for
	// on every request. Caddy must see it at the same path: when Caddy
	// runs in a container, bind-mount Dir at the same path. Absolute.
	// Default DefaultCaddyDir.
	Dir string
	// Runner creates, removes and checks the colour files on Caddy's host.
	// Required.
	Runner host.Runner
	// Dialer reaches the admin API from the host Caddy runs on. Required.
	Dialer host.Dialer
	// Timeout bounds each admin API request. Default 10s.
	Timeout time.Duration
	// Logger receives debug records of each step; nil discards them.
	Logger *slog.Logger
}

// Caddy switches traffic without changing Caddy's configuration. Each
// route's handler (CaddyRouteHandler) has one route per colour, matched when
// that colour's file exists in the route's directory (Caddy's file matcher:
// a stat or two per request), and Switch creates the next colour's file and
// removes the earlier colours'. Any change through Caddy's admin API would reload
// every app and shut the old HTTP server down, and Go's HTTP server closes
// a connection whose request it reads after that began, unanswered (see
// the package documentation). The admin API is only read, to check that
// the configuration routes by the files this switcher writes. With
// several routes a failure part-way puts the already switched ones back.
// Create it with NewCaddy.
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
	if cfg.Runner == nil {
		return nil, errors.New("caddy: runner: required (the host Caddy runs on, where the colour files are written)")
	}
	if cfg.Admin == "" {
		cfg.Admin = DefaultCaddyAdmin
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultCaddyDir
	}
	if err := checkCaddyDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("caddy: dir: %w", err)
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
			// Someone else's configuration change restarts the admin
			// endpoint and closes kept-alive connections: use a fresh one
			// each time.
			DisableKeepAlives: true,
		},
	}
	return &Caddy{cfg: cfg, log: log, client: client, base: base}, nil
}

// checkCaddyDir accepts an absolute path that fits in a Caddy placeholder.
func checkCaddyDir(dir string) error {
	if !strings.HasPrefix(dir, "/") || strings.ContainsAny(dir, "{}*?[]\\ \t\r\n") {
		return fmt.Errorf("%q: want an absolute path without spaces, braces, glob characters or backslashes", dir)
	}
	return nil
}

// CaddyColourDir is the directory in dir holding route's colour files,
// named after the colours ("blue", "green"): Caddy serves the first colour,
// in name order, whose file exists.
func CaddyColourDir(dir, route string) string {
	return path.Join(dir, route)
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

// get sends one GET request to the admin API and returns the body.
func (c *Caddy) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("caddy admin API: GET %s: %w", path, err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("caddy admin API at %s: GET %s: %w (is Caddy running with its admin API there?)", c.cfg.Admin, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("caddy admin API: GET %s: read response: %w", path, err)
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
		return nil, &APIError{Method: http.MethodGet, Path: path, Status: resp.StatusCode, Message: msg}
	}
	return data, nil
}

// checkWiring checks that Caddy's object with "@id" r.Name is the
// subroute CaddyRouteHandler returns for r and c's directory: a route per
// colour, matched by that colour's file, proxying to its upstreams.
func (c *Caddy) checkWiring(ctx context.Context, r Route) error {
	data, err := c.get(ctx, "/id/"+r.Name)
	if err != nil {
		var api *APIError
		if errors.As(err, &api) && api.Status == http.StatusNotFound {
			return fmt.Errorf("%w: Caddy has no object with \"@id\": %q (put the handler traffic.CaddyRouteHandler returns in the route's \"handle\")", ErrNotWired, r.Name)
		}
		return err
	}
	var got, want subrouteJSON
	if err := json.Unmarshal(data, &got); err != nil {
		return fmt.Errorf("%w: @id %q is not a JSON object: %w", ErrNotWired, r.Name, err)
	}
	exp, _ := json.Marshal(caddyRouteHandler(r, c.cfg.Dir, ProxyColourHeader))
	_ = json.Unmarshal(exp, &want)
	if got.Handler != "subroute" || len(got.Routes) != len(want.Routes) {
		return fmt.Errorf("%w: @id %q is a %q handler with %d routes, not the subroute traffic.CaddyRouteHandler returns (%d routes: one per colour, then a 503); an older blueshift switched a reverse_proxy handler with this @id: replace it", ErrNotWired, r.Name, got.Handler, len(got.Routes), len(want.Routes))
	}
	for i, w := range want.Routes {
		g := got.Routes[i]
		if !reflect.DeepEqual(g.Match, w.Match) || len(g.Handle) != 1 || g.Handle[0]["handler"] != w.Handle[0]["handler"] {
			return fmt.Errorf("%w: @id %q: route %d is %s; want %s (is proxy dir %s the directory Caddy reads?)", ErrNotWired, r.Name, i, compact(g), compact(w), c.cfg.Dir)
		}
		if gd, wd := dialsOf(g.Handle[0]), dialsOf(w.Handle[0]); !slices.Equal(gd, wd) {
			return fmt.Errorf("%w: @id %q: route %d proxies to %v; want %v (the colours' upstreams changed: update Caddy's configuration)", ErrNotWired, r.Name, i, gd, wd)
		}
	}
	return nil
}

type subrouteJSON struct {
	Handler string `json:"handler"`
	Routes  []struct {
		Match  []any            `json:"match,omitempty"`
		Handle []map[string]any `json:"handle"`
	} `json:"routes"`
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// dialsOf returns the sorted dial addresses of a reverse_proxy handler.
func dialsOf(h map[string]any) []string {
	ups, _ := h["upstreams"].([]any)
	var out []string
	for _, u := range ups {
		m, _ := u.(map[string]any)
		d, _ := m["dial"].(string)
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// present returns the colours of r whose files exist, in the order Caddy
// tries them (the first one is what Caddy serves).
func (c *Caddy) present(ctx context.Context, r Route) ([]string, error) {
	var out []string
	for _, colour := range colours(r.Upstreams) {
		ok, err := host.Exists(ctx, c.cfg.Runner, path.Join(CaddyColourDir(c.cfg.Dir, r.Name), colour))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, colour)
		}
	}
	return out, nil
}

// Live returns the colour the routes proxy to: the first colour whose file
// exists, as Caddy sees it, once the configuration is checked to route by
// these files. All routes must agree.
func (c *Caddy) Live(ctx context.Context) (string, error) {
	live := ""
	for _, r := range c.cfg.Routes {
		if err := c.checkWiring(ctx, r); err != nil {
			return "", fmt.Errorf("caddy: live colour: %w", err)
		}
		present, err := c.present(ctx, r)
		if err != nil {
			return "", fmt.Errorf("caddy: live colour: %w", err)
		}
		if len(present) == 0 {
			return "", fmt.Errorf("caddy: live colour: %w: %s holds no colour file yet (Caddy answers 503)", ErrNoLiveColour, CaddyColourDir(c.cfg.Dir, r.Name))
		}
		colour := present[0] // a later colour's file stays after a switch back
		if live != "" && colour != live {
			return "", fmt.Errorf("caddy: live colour: routes disagree: %q goes to %s, an earlier route to %s: switch to one colour to fix it", r.Name, colour, live)
		}
		live = colour
	}
	return live, nil
}

// Switch moves each route to colour, after checking that Caddy's
// configuration routes by the colour files. Caddy serves the first colour,
// in name order, whose file exists; Switch creates colour's file (an
// atomic rename of a temporary file) and then removes the files of the
// colours before it, each in one step, and never removes a later colour's
// file. With two colours one step moves the traffic, and a request that
// does not find the first colour's file always finds the second's. Caddy's
// configuration is not touched, so nothing reloads: the next request Caddy
// routes goes to colour, and requests in flight finish where they are. A
// route that fails puts the routes switched before it back.
func (c *Caddy) Switch(ctx context.Context, colour string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := checkColour(c.cfg.Routes, colour); err != nil {
		return fmt.Errorf("caddy: switch to %s: %w", colour, err)
	}
	for _, r := range c.cfg.Routes {
		if err := c.checkWiring(ctx, r); err != nil {
			return fmt.Errorf("caddy: switch to %s: route %q: %w (traffic is untouched)", colour, r.Name, err)
		}
	}
	var undos []func(context.Context) error
	undo := func() error {
		uctx := context.WithoutCancel(ctx)
		var errs []error
		for i := len(undos) - 1; i >= 0; i-- {
			if err := undos[i](uctx); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	for _, r := range c.cfg.Routes {
		u, err := c.switchRoute(ctx, r, colour)
		if u != nil {
			undos = append(undos, u)
		}
		if err != nil {
			if uerr := undo(); uerr != nil {
				return fmt.Errorf("caddy: switch to %s: route %q: %w; putting the routes back also failed: %w", colour, r.Name, err, uerr)
			}
			return fmt.Errorf("caddy: switch to %s: route %q: %w (traffic is untouched)", colour, r.Name, err)
		}
	}
	return nil
}

// switchRoute makes colour the first of r's colours whose file exists; it
// returns how to undo what it changed (nil when it changed nothing), also
// when it fails part-way.
func (c *Caddy) switchRoute(ctx context.Context, r Route, colour string) (func(context.Context) error, error) {
	dir := CaddyColourDir(c.cfg.Dir, r.Name)
	file := func(colour string) string { return path.Join(dir, colour) }
	present, err := c.present(ctx, r)
	if err != nil {
		return nil, err
	}
	if len(present) > 0 && present[0] == colour {
		return nil, nil
	}
	order := colours(r.Upstreams)
	created := false
	var removed []string
	undo := func(ctx context.Context) error {
		var errs []error
		for _, p := range removed {
			errs = append(errs, writeHostFileAtomic(ctx, c.cfg.Runner, file(p), []byte(p+"\n"), 0o644))
		}
		if created {
			errs = append(errs, host.Remove(ctx, c.cfg.Runner, file(colour)))
		}
		return errors.Join(errs...)
	}
	if !slices.Contains(present, colour) {
		c.log.Debug("caddy: creating colour file", "dir", dir, "colour", colour)
		if err := writeHostFileAtomic(ctx, c.cfg.Runner, file(colour), []byte(colour+"\n"), 0o644); err != nil {
			return nil, err
		}
		created = true
	}
	for _, p := range present {
		if slices.Index(order, p) >= slices.Index(order, colour) {
			continue
		}
		c.log.Debug("caddy: removing colour file", "dir", dir, "colour", p)
		if err := host.Remove(ctx, c.cfg.Runner, file(p)); err != nil {
			return undo, err
		}
		removed = append(removed, p)
	}
	return undo, nil
}

// Validate checks that the admin API answers and every route's @id names
// the subroute CaddyRouteHandler returns for this switcher's directory and
// the routes' upstreams.
func (c *Caddy) Validate(ctx context.Context) error {
	for _, r := range c.cfg.Routes {
		if err := c.checkWiring(ctx, r); err != nil {
			return fmt.Errorf("caddy: validate: %w", err)
		}
	}
	return nil
}

// Verify waits until Caddy's loaded configuration routes every route by
// the colour files (its @id handler, read from the admin API) and the
// first colour file of each is colour: Caddy reads the files on every
// request, so its next request goes there. One answer is enough (nothing
// reloads), unless policy says otherwise. It returns an error wrapping
// ErrWrongColour with what was seen last.
func (c *Caddy) Verify(ctx context.Context, colour string, policy health.Policy) error {
	if zeroPolicy(policy) {
		policy = VerifyPolicy()
		policy.SuccessesInRow = 1
	}
	probe := health.ProbeFunc{Label: "caddy's routes at " + c.cfg.Admin, Func: func(ctx context.Context) error {
		live, err := c.Live(ctx)
		if err != nil {
			return err
		}
		if live != colour {
			return fmt.Errorf("routes go to %s", live)
		}
		return nil
	}}
	if _, err := health.Wait(ctx, probe, policy, nil); err != nil {
		return fmt.Errorf("caddy: verify %s: %w: %w", colour, ErrWrongColour, err)
	}
	return nil
}

var _ Verifier = (*Caddy)(nil)
