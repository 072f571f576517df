package deploy

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file is the entry of validation: Config.Validate, the envCheck each
// environment is checked with, and the helpers the sections share. Each
// section of an environment has its own file (config_validate_host.go,
// config_validate_services.go, config_validate_checks.go,
// config_validate_steps.go, config_validate_notify.go). Every message starts
// with the field's path, and tests pin them: a new message is added to
// TestValidationMessages.

var (
	appName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	envName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
)

// Validate checks the whole configuration and returns every problem at
// once as a *ValidationError (one line per problem, each starting with the
// field's path), or nil.
func (c *Config) Validate() error {
	p := &problems{c: c}
	switch {
	case c.App == "":
		p.missing("app", "required: name the application (lowercase letters, digits, dashes)")
	case !appName.MatchString(c.App):
		p.add("app", "%q is not a valid name: use lowercase letters, digits and dashes, starting and ending with a letter or digit", c.App)
	}
	if len(c.Environments) == 0 {
		p.missing("environments", "required: define at least one environment (e.g. production)")
	}
	for _, name := range c.EnvNames() {
		e := c.Environments[name]
		path := "environments." + name
		if !envName.MatchString(name) {
			p.add(path, "%q is not a valid environment name: use lowercase letters, digits and dashes", name)
		}
		if e == nil {
			p.missing(path, "empty: set at least host and path")
			continue
		}
		e.validate(p, path)
	}
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

// validate adds the environment's problems to p, section by section in
// the order of the schema.
func (e *Environment) validate(p *problems, path string) {
	v := &envCheck{problems: p, e: e, path: path}
	v.host()
	v.files()
	v.services()
	v.ports()
	v.proxy()
	v.hooks()
	v.health()
	v.smoke()
	v.monitor()
	v.standby()
	v.backup()
	v.notify()
	v.tests()
	v.timeouts()
	v.registry()
}

// envCheck validates one environment: its problems go to problems with
// paths under path.
type envCheck struct {
	*problems
	e    *Environment
	path string
	// all and stateless are the services listed in services.stateless and
	// services.shared; services fills them.
	all, stateless map[string]bool
}

// at is the full path of a field of the environment.
func (v *envCheck) at(field string) string { return v.path + "." + field }

// addAt records an invalid value at the environment's field.
func (v *envCheck) addAt(field, format string, args ...any) { v.add(v.at(field), format, args...) }

// missingAt records a required field of the environment that is not set.
func (v *envCheck) missingAt(field, format string, args ...any) {
	v.missing(v.at(field), format, args...)
}

// positive checks that a duration field is above zero.
func (v *envCheck) positive(field string, d time.Duration) {
	if d <= 0 {
		v.addAt(field, "must be > 0")
	}
}

// atLeastOne checks that a count field is at least 1.
func (v *envCheck) atLeastOne(field string, n int) {
	if n < 1 {
		v.addAt(field, "must be >= 1")
	}
}

// knownService checks that s, when set, is a service of the environment.
func (v *envCheck) knownService(field, s string) {
	if s != "" && !v.all[s] {
		v.addAt(field, "unknown service %q: list it in services.stateless or services.shared", s)
	}
}

// hostPort checks addr with checkHostPort.
func (v *envCheck) hostPort(field, addr string, portOptional bool) {
	if err := checkHostPort(addr, portOptional); err != nil {
		v.addAt(field, "%v", err)
	}
}

// checkPort checks that a port number is in range.
func (v *envCheck) checkPort(path string, port int) bool {
	if port < 1 || port > 65535 {
		v.add(path, "port %d out of range 1..65535", port)
		return false
	}
	return true
}

// absHostPath checks that path is absolute on the host.
func (v *envCheck) absHostPath(field, path string) {
	if !strings.HasPrefix(path, "/") {
		v.addAt(field, "%q must be an absolute path on the host", path)
	}
}

func checkStatuses(p *problems, path string, codes []int) {
	if len(codes) == 0 {
		p.missing(path, "list at least one HTTP status")
	}
	for i, c := range codes {
		if c < 100 || c > 599 {
			p.add(fmt.Sprintf("%s[%d]", path, i), "%d is not an HTTP status (100..599)", c)
		}
	}
}

// checkHostPort accepts host:port, or a bare host when portOptional.
func checkHostPort(addr string, portOptional bool) error {
	if portOptional && !strings.Contains(addr, ":") {
		if strings.ContainsAny(addr, "/ @") {
			return fmt.Errorf("%q must be host or host:port", addr)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || strings.ContainsAny(host, "/ @") {
		return fmt.Errorf("%q must be host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q out of range 1..65535", addr, port)
	}
	return nil
}

func isAbsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
