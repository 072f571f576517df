package thebot

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/blueshift-deploy/blueshift/examples/demo"
)

// Defaults of Options.
const (
	DefaultApp          = "thebot"
	DefaultEnvironment  = "production"
	DefaultRegistryAddr = "127.0.0.1:15000"
	DefaultProxyAddr    = "127.0.0.1:18180"
	DefaultBackendBlue  = 18101
	DefaultBackendGreen = 18102
	DefaultFrontBlue    = 18111
	DefaultFrontGreen   = 18112
	// DirEnv names the variable that overrides the workspace directory.
	DirEnv = "BLUESHIFT_THEBOT_DIR"
)

// The releases Build makes, in order.
const (
	FirstVersion  = "v1.0.0"
	SecondVersion = "v1.0.1"
)

// Versions are the working releases Build makes, oldest first.
var Versions = []string{FirstVersion, SecondVersion}

// The release variants Build makes besides Versions: v1.0.1's files with a
// fault switched on, each failing one of a deployment's checks.
const (
	// UnhealthyVersion's backend reads Redis at a host that does not
	// exist: its /api/health/ answers 503 ("redis": "error: …"), so the
	// health phase fails before the switch.
	UnhealthyVersion = "v1.0.2-unhealthy"
	// BrokenFrontendVersion's frontend answers 500 on / (the rest of the
	// site works).
	BrokenFrontendVersion = "v1.0.2-frontend500"
	// BreaksLaterVersion's backend answers 500 to every request after each
	// process's first FailAfter, like a leak exhausting a pool: it passes
	// health checks and smoke, then breaks under traffic after the switch.
	BreaksLaterVersion = "v1.0.2-breaks"
	// FailAfter is BreaksLaterVersion's number of good answers per process.
	FailAfter = 40
)

// Release is one backend and frontend pair Build makes.
type Release struct {
	// Version is the release version: the image tag.
	Version string
	// Files is the release whose files it is built from. Default Version.
	Files string
	// Fault switches a failure on (THEBOT_FAULT in the backend, the FAULT
	// build argument of both images); empty for a working release.
	Fault string
}

// Variants are the failing releases Build makes besides Versions.
var Variants = []Release{
	{Version: UnhealthyVersion, Files: SecondVersion, Fault: "redis-host"},
	{Version: BrokenFrontendVersion, Files: SecondVersion, Fault: "root-500"},
	{Version: BreaksLaterVersion, Files: SecondVersion, Fault: fmt.Sprintf("fail-after:%d", FailAfter)},
}

// Releases are every release Build makes: Versions, then Variants.
func Releases() []Release {
	var rs []Release
	for _, v := range Versions {
		rs = append(rs, Release{Version: v})
	}
	return append(rs, Variants...)
}

func (r Release) files() string {
	if r.Files == "" {
		return r.Version
	}
	return r.Files
}

// Options configure the stack. The zero value is what `go tool mage thebot`
// runs; tests change the names and ports so as not to clash with it.
type Options struct {
	// Dir is the workspace: compose file, env file, host nginx, registry
	// storage. Default DefaultDir(Getenv).
	Dir string
	// App names the application: its compose project and the prefix of the
	// upstreams the host nginx proxies to. Default DefaultApp.
	App string
	// Environment is the deploy.yml environment the upstream names are made
	// for (as blueshift's engine names them). Default DefaultEnvironment.
	Environment string
	// RegistryAddr is where the local registry listens (a loopback
	// address: the Docker Engine then speaks plain HTTP to it). Default
	// DefaultRegistryAddr.
	RegistryAddr string
	// ProxyAddr is where the host nginx serves the app. Default
	// DefaultProxyAddr.
	ProxyAddr string
	// Backend and Frontend are the loopback ports each colour publishes the
	// service on. Up runs blue. Defaults DefaultBackendBlue/Green,
	// DefaultFrontBlue/Green.
	Backend, Frontend ColourPorts
	// Images, if set, are images an earlier Build made: Up uses them
	// instead of building (tests share one Build).
	Images *Images
	// Getenv reads the environment. Default os.Getenv.
	Getenv func(string) string
	// Logger receives the library's structured logs; nil discards them.
	Logger *slog.Logger
	// Progress, if set, receives what the package is doing, one line at a
	// time.
	Progress func(string)
}

// ColourPorts are the loopback ports a service publishes per colour.
type ColourPorts struct{ Blue, Green int }

func (o Options) withDefaults() (Options, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	dir, err := demo.WorkspaceDir(o.Dir, o.Getenv, DirEnv, "blueshift-thebot")
	if err != nil {
		return o, err
	}
	o.Dir = dir
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.App, DefaultApp)
	def(&o.Environment, DefaultEnvironment)
	def(&o.RegistryAddr, DefaultRegistryAddr)
	def(&o.ProxyAddr, DefaultProxyAddr)
	defPort := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defPort(&o.Backend.Blue, DefaultBackendBlue)
	defPort(&o.Backend.Green, DefaultBackendGreen)
	defPort(&o.Frontend.Blue, DefaultFrontBlue)
	defPort(&o.Frontend.Green, DefaultFrontGreen)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// DefaultDir is the workspace used when Options.Dir is empty:
// $BLUESHIFT_THEBOT_DIR, else $XDG_CACHE_HOME/blueshift-thebot, else
// ~/.cache/blueshift-thebot.
func DefaultDir(getenv func(string) string) (string, error) {
	return demo.CacheDir(getenv, DirEnv, "blueshift-thebot")
}
