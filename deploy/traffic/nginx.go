package traffic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/health"
)

// NginxConfig configures an Nginx switcher.
type NginxConfig struct {
	// App names the application: it names the default upstream file and
	// the colour variable ($blueshift_<app>_colour, '-' becoming '_').
	// Required; letters, digits, '_' and '-'.
	App string
	// Routes are the upstream blocks the file defines, one per route,
	// named Route.Name; the site configuration proxies to them
	// (proxy_pass http://<name>;). Required.
	Routes []Route
	// UpstreamFile is the path on the host Switch writes. Default
	// /etc/nginx/blueshift/<App>-upstream.conf.
	UpstreamFile string
	// IncludePath is the path nginx itself sees the upstream file at, used
	// by Validate. It differs from UpstreamFile when nginx runs in a
	// container with the file's directory bind-mounted. Default
	// UpstreamFile.
	IncludePath string
	// Container, if set, is the Docker container nginx runs in: nginx's
	// commands then run through `docker exec <Container>`, while the file is
	// still written on the host. Bind-mount the file's directory, not the
	// file: the atomic rename replaces the file, which a single-file bind
	// mount would not show. Default: nginx runs on the host.
	Container string
	// Command invokes nginx on the host or in the container, before the
	// "-t", "-T" or "-s reload" arguments. Default ["nginx"]; for example
	// ["sudo", "-n", "nginx"] or ["nginx", "-c", "/srv/nginx/nginx.conf"].
	Command []string
	// Docker is the docker CLI on the host, used with Container. Default
	// ["docker"].
	Docker []string
	// Keepalive is the number of idle connections each nginx worker keeps
	// to the upstream (the site must set proxy_http_version 1.1 and clear
	// the Connection header for it to take effect). Default 16; negative
	// turns it off.
	Keepalive int
	// ColourListen is the address of the loopback server Render adds to the
	// upstream file: it answers GET /blueshift/colour with the colour nginx
	// has loaded ({"app":"<App>","colour":"green"}), and Verify polls it
	// after a switch, so that the proxy, not the application, proves the
	// switch. It is a server of its own in blueshift's file (server_name
	// ColourServerName), so the site's configuration is untouched.
	// Default "127.0.0.1:<port>", the port in 20000-29999 from a hash of
	// App and UpstreamFile (stable for an application, different for two
	// applications or test instances on one machine); "off" adds no server
	// (Verify then returns ErrNotVerifiable). With Container the default is
	// "off": 127.0.0.1 in the container is not the host's; set an address
	// the host reaches (a container on the host's network).
	ColourListen string
	// Runner runs the commands on the host nginx (or its container's Docker
	// Engine) lives on. Required.
	Runner host.Runner
	// Dialer reaches ColourListen as the host sees it. Default Runner when
	// it is also a host.Dialer (host.Local and SSH hosts are).
	Dialer host.Dialer
	// Logger receives debug records of each step; nil discards them.
	Logger *slog.Logger
}

// Nginx switches traffic by rewriting an upstream file nginx includes and
// reloading nginx gracefully. Create it with NewNginx.
type Nginx struct {
	cfg NginxConfig
	log *slog.Logger
	mu  sync.Mutex
}

var _ Switcher = (*Nginx)(nil)

// NewNginx checks cfg, fills in its defaults and returns the switcher.
func NewNginx(cfg NginxConfig) (*Nginx, error) {
	if !nameRE.MatchString(cfg.App) {
		return nil, fmt.Errorf("nginx: app: %q: want letters, digits, '_' and '-'", cfg.App)
	}
	if err := validateRoutes("nginx", cfg.Routes); err != nil {
		return nil, err
	}
	if cfg.Runner == nil {
		return nil, errors.New("nginx: runner: required (the host nginx runs on)")
	}
	if cfg.UpstreamFile == "" {
		cfg.UpstreamFile = "/etc/nginx/blueshift/" + cfg.App + "-upstream.conf"
	}
	if !strings.HasPrefix(cfg.UpstreamFile, "/") {
		return nil, fmt.Errorf("nginx: upstream file: %q: want an absolute path", cfg.UpstreamFile)
	}
	if cfg.IncludePath == "" {
		cfg.IncludePath = cfg.UpstreamFile
	}
	if len(cfg.Command) == 0 {
		cfg.Command = []string{"nginx"}
	}
	if len(cfg.Docker) == 0 {
		cfg.Docker = []string{"docker"}
	}
	if cfg.Keepalive == 0 {
		cfg.Keepalive = 16
	}
	if err := cfg.colourListenDefault(); err != nil {
		return nil, err
	}
	if d, ok := cfg.Runner.(host.Dialer); ok && cfg.Dialer == nil {
		cfg.Dialer = d
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Nginx{cfg: cfg, log: log}, nil
}

// ColourListenOff is NginxConfig.ColourListen's value for no colour server.
const ColourListenOff = "off"

// ColourPath is the path the colour server answers on.
const ColourPath = "/blueshift/colour"

// colourListenDefault fills in and checks ColourListen.
func (cfg *NginxConfig) colourListenDefault() error {
	switch {
	case cfg.ColourListen == "" && cfg.Container != "":
		cfg.ColourListen = ColourListenOff
	case cfg.ColourListen == "":
		h := fnv.New32a()
		h.Write([]byte(cfg.App + "\x00" + cfg.UpstreamFile))
		cfg.ColourListen = "127.0.0.1:" + strconv.Itoa(20000+int(h.Sum32()%10000))
	case cfg.ColourListen == ColourListenOff:
	default:
		if err := checkAddr(cfg.ColourListen); err != nil || strings.HasPrefix(cfg.ColourListen, "unix") {
			return fmt.Errorf("nginx: colour listen: %q: want host:port (a TCP address: a unix socket left by a crash would stop nginx from starting) or %q", cfg.ColourListen, ColourListenOff)
		}
	}
	return nil
}

// ColourListen is the colour server's address ("off" when there is none).
func (n *Nginx) ColourListen() string { return n.cfg.ColourListen }

// ColourServerName is the colour server's server_name, the Host its
// requests carry: "blueshift-colour.<App>".
func (n *Nginx) ColourServerName() string { return "blueshift-colour." + n.cfg.App }

// nginxArgv prefixes nginx's arguments with the command and, in container
// mode, `docker exec <container>`.
func (n *Nginx) nginxArgv(args ...string) []string {
	var argv []string
	if n.cfg.Container != "" {
		argv = append(argv, n.cfg.Docker...)
		argv = append(argv, "exec", n.cfg.Container)
	}
	argv = append(argv, n.cfg.Command...)
	return append(argv, args...)
}

// TestArgv is the command checking nginx's configuration: `nginx -t`.
func (n *Nginx) TestArgv() []string { return n.nginxArgv("-t") }

// DumpArgv is the command printing nginx's whole configuration: `nginx -T`.
func (n *Nginx) DumpArgv() []string { return n.nginxArgv("-T") }

// ReloadArgv is the command reloading nginx gracefully: `nginx -s reload`.
// Old workers finish their requests on the old upstreams.
func (n *Nginx) ReloadArgv() []string { return n.nginxArgv("-s", "reload") }

// UpstreamFile is the host path Switch writes.
func (n *Nginx) UpstreamFile() string { return n.cfg.UpstreamFile }

// ColourVariable is the nginx variable the upstream file defines, holding the
// live colour, for the site configuration to use (for example
// `add_header X-Blueshift-Proxy-Colour $blueshift_myapp_colour always;`).
func (n *Nginx) ColourVariable() string {
	return "$blueshift_" + strings.ReplaceAll(n.cfg.App, "-", "_") + "_colour"
}

var markerRE = regexp.MustCompile(`(?m)^# blueshift colour=([A-Za-z0-9_-]+)\s*$`)

// Render returns the upstream file sending traffic to colour.
func (n *Nginx) Render(colour string) ([]byte, error) {
	if err := checkColour(n.cfg.Routes, colour); err != nil {
		return nil, fmt.Errorf("nginx: render upstreams: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# blueshift colour=%s\n", colour)
	fmt.Fprintf(&b, "# Written by blueshift for %s; the next switch replaces this file.\n", n.cfg.App)
	for _, r := range n.cfg.Routes {
		fmt.Fprintf(&b, "upstream %s {\n", r.Name)
		for _, addr := range r.Upstreams[colour] {
			fmt.Fprintf(&b, "    server %s;\n", addr)
		}
		if n.cfg.Keepalive > 0 {
			fmt.Fprintf(&b, "    keepalive %d;\n", n.cfg.Keepalive)
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "map $host %s {\n    default %q;\n}\n", n.ColourVariable(), colour)
	if n.cfg.ColourListen != ColourListenOff {
		fmt.Fprintf(&b, `# The colour nginx has loaded, for blueshift to check after a switch.
server {
    listen %s;
    server_name %s;
    access_log off;
    location = %s {
        default_type application/json;
        return 200 '{"app":"%s","colour":"%s"}\n';
    }
    location / {
        return 404;
    }
}
`, n.cfg.ColourListen, n.ColourServerName(), ColourPath, n.cfg.App, n.ColourVariable())
	}
	return b.Bytes(), nil
}

// Live returns the colour named by the upstream file's marker line.
func (n *Nginx) Live(ctx context.Context) (string, error) {
	data, exists, err := readHostFile(ctx, n.cfg.Runner, n.cfg.UpstreamFile)
	if err != nil {
		return "", fmt.Errorf("nginx: live colour: %w", err)
	}
	if !exists {
		return "", fmt.Errorf("nginx: live colour: %w: %s does not exist yet", ErrNoLiveColour, n.cfg.UpstreamFile)
	}
	return parseMarker(n.cfg.UpstreamFile, data)
}

func parseMarker(file string, data []byte) (string, error) {
	m := markerRE.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("nginx: live colour: %w: %s has no \"# blueshift colour=<colour>\" line (was it written by hand? the next switch replaces it)", ErrNoLiveColour, file)
	}
	return string(m[1]), nil
}

// Switch writes the upstream file for colour, checks nginx's configuration
// and reloads nginx. When the check or the reload fails, it restores the
// previous file (or removes the new one), so traffic stays where it was, and
// returns an error with nginx's message wrapping ErrConfigInvalid (a failed
// check) or the command's error (a failed reload).
//
// Why one command: over SSH every command is a session, and a switch used
// to be five of them (read the old file, write the new one, nginx -t, nginx
// -s reload, and a write to restore on failure). SwitchArgv's script does
// the same steps in the same order on the host: the old file is kept beside
// the new one until nginx accepted and reloaded, and is renamed back when
// either fails; its exit code tells the failures apart.
func (n *Nginx) Switch(ctx context.Context, colour string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	data, err := n.Render(colour)
	if err != nil {
		return fmt.Errorf("nginx: switch to %s: %w", colour, err)
	}
	file := n.cfg.UpstreamFile
	n.log.Debug("nginx: switching", "file", file, "colour", colour)
	var stderr strings.Builder
	err = n.cfg.Runner.Run(ctx, host.Cmd{Argv: n.SwitchArgv(), Stdin: bytes.NewReader(data), Stderr: &stderr})
	var exit *host.ExitError
	if err == nil || !errors.As(err, &exit) {
		if err != nil {
			return fmt.Errorf("nginx: switch to %s: %w", colour, err)
		}
		return nil
	}
	msg := nginxMessage(stderr.String(), err)
	switch exit.Code {
	case switchExitTestFailed:
		return fmt.Errorf("nginx: switch to %s: %w: %s (restored the previous %s; traffic is untouched): %w", colour, ErrConfigInvalid, msg, file, err)
	case switchExitTestRestoreFailed:
		return fmt.Errorf("nginx: switch to %s: %w: %s; restoring the previous %s also failed: fix it by hand before nginx reloads: %w", colour, ErrConfigInvalid, msg, file, err)
	case switchExitReloadFailed:
		return fmt.Errorf("nginx: switch to %s: reload failed: %s (restored the previous %s; is nginx running?): %w", colour, msg, file, err)
	case switchExitReloadRestoreFailed:
		return fmt.Errorf("nginx: switch to %s: reload: %s; restoring the previous %s also failed: fix it by hand: %w", colour, msg, file, err)
	case switchExitCantCreate:
		return fmt.Errorf("nginx: switch to %s: write %s: create temporary file (does the directory exist and is it writable?): %w", colour, file, err)
	default:
		return fmt.Errorf("nginx: switch to %s: write %s: %w", colour, file, err)
	}
}

// Verify polls the colour server (ColourListen) through Dialer until it
// answers colour, policy.SuccessesInRow times in a row: the reload has
// taken effect and new connections reach the colour's upstreams. It returns
// an error wrapping ErrWrongColour with the last answer, or
// ErrNotVerifiable when ColourListen is "off" or there is no Dialer.
func (n *Nginx) Verify(ctx context.Context, colour string, policy health.Policy) error {
	if n.cfg.ColourListen == ColourListenOff {
		return fmt.Errorf("nginx: verify %s: %w: proxy.nginx.colour_listen is off", colour, ErrNotVerifiable)
	}
	if n.cfg.Dialer == nil {
		return fmt.Errorf("nginx: verify %s: %w: no dialer reaches %s from nginx's host", colour, ErrNotVerifiable, n.cfg.ColourListen)
	}
	probe := &health.HTTPProbe{Label: "nginx's loaded colour at " + n.cfg.ColourListen, URL: "http://" + n.cfg.ColourListen + ColourPath,
		Host: n.ColourServerName(), JSONField: "colour", JSONValue: colour, Dialer: n.cfg.Dialer}
	if _, err := health.Wait(ctx, probe, verifyPolicy(policy), nil); err != nil {
		return fmt.Errorf("nginx: verify %s: %w: %w (nginx keeps its previous configuration when a reload fails: see its error log, e.g. for a port already in use)", colour, ErrWrongColour, err)
	}
	return nil
}

var _ Verifier = (*Nginx)(nil)

// Exit codes of switchScript.
const (
	switchExitCantCreate          = 73 // the directory or a temporary file could not be created
	switchExitWrite               = 74 // writing, chmod or a rename failed before nginx ran
	switchExitTestFailed          = 80 // nginx -t failed; the previous file is back
	switchExitTestRestoreFailed   = 81 // nginx -t failed and restoring failed
	switchExitReloadFailed        = 82 // nginx -s reload failed; the previous file is back
	switchExitReloadRestoreFailed = 83 // the reload failed and restoring failed
)

// switchScript is Switch's one command. Its arguments are the upstream
// file's directory, its base name, its mode, then nginx's command (with
// `docker exec <container>` in container mode), to which it appends "-t"
// and "-s reload". The new file comes on stdin. The first line marks it for
// fake hosts in tests.
const switchScript = `# blueshift:nginx-switch
set -u
d=$1 f=$2 m=$3; shift 3
b=
mkdir -p -m 0755 -- "$d" || exit 73
t=$(mktemp -p "$d" ".$f.tmp-XXXXXXXXXX") || exit 73
trap 'rm -f -- "$t" ${b:+"$b"}' EXIT
dd of="$t" bs=64k conv=fsync,notrunc status=none || exit 74
chmod "$m" -- "$t" || exit 74
if [ -e "$d/$f" ]; then
	b=$(mktemp -p "$d" ".$f.prev-XXXXXXXXXX") || exit 73
	cp -p -- "$d/$f" "$b" || exit 74
fi
mv -f -T -- "$t" "$d/$f" || exit 74
sync -- "$d" || true
restore() {
	if [ -n "$b" ]; then mv -f -T -- "$b" "$d/$f" || return 1; b=
	else rm -f -- "$d/$f" || return 1; fi
	sync -- "$d" || true
}
if ! "$@" -t; then restore || exit 81; exit 80; fi
if ! "$@" -s reload; then restore || exit 83; exit 82; fi
exit 0
`

// SwitchArgv is Switch's command: a script that writes the upstream file
// (read from stdin) atomically, keeping the previous one, runs `nginx -t`
// and `nginx -s reload`, and puts the previous file back when either fails.
func (n *Nginx) SwitchArgv() []string {
	argv := []string{"sh", "-c", switchScript, "sh", path.Dir(n.cfg.UpstreamFile), path.Base(n.cfg.UpstreamFile), "0644"}
	return append(argv, n.nginxArgv()...)
}

// nginxMessage returns nginx's own lines from its stderr, without the
// "syntax is ok"/"test failed" boilerplate.
func nginxMessage(stderr string, err error) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasSuffix(l, "test failed") || strings.HasSuffix(l, "syntax is ok") {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return err.Error()
	}
	return strings.Join(lines, "; ")
}

// Validate checks nginx's configuration (`nginx -T`) and, once the upstream
// file exists, that nginx includes it and proxies to every route. Before the
// first switch there is no file yet: then only the check runs.
func (n *Nginx) Validate(ctx context.Context) error {
	var stdout, stderr bytes.Buffer
	if err := n.cfg.Runner.Run(ctx, host.Cmd{Argv: n.DumpArgv(), Stdout: &stdout, Stderr: &stderr}); err != nil {
		var exit *host.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("nginx: validate: %w: %s: %w", ErrConfigInvalid, nginxMessage(stderr.String(), err), err)
		}
		return fmt.Errorf("nginx: validate: %w", err)
	}
	_, exists, err := readHostFile(ctx, n.cfg.Runner, n.cfg.UpstreamFile)
	if err != nil {
		return fmt.Errorf("nginx: validate: %w", err)
	}
	if !exists {
		return nil
	}
	dump := stdout.String()
	if !strings.Contains(dump, "# configuration file "+n.cfg.IncludePath+":") {
		return fmt.Errorf("nginx: validate: %w: nginx does not include %s: add `include %s;` to the http block", ErrNotWired, n.cfg.IncludePath, n.cfg.IncludePath)
	}
	for _, r := range n.cfg.Routes {
		if !strings.Contains(dump, "http://"+r.Name) {
			return fmt.Errorf("nginx: validate: %w: no `proxy_pass http://%s` in nginx's configuration: traffic would not follow a switch", ErrNotWired, r.Name)
		}
	}
	return nil
}
