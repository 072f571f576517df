package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/internal/yamlconf"
)

// The configuration lives in several files, one job each:
//
//   - config.go: loading (Load, LoadDefault) and looking up environments;
//   - config_schema.go: the types, each field's default in its doc;
//   - config_defaults.go: the defaults, the health checks' taken from
//     package health's seed policies;
//   - config_validate*.go: validation, one file per group of sections;
//   - config_errors.go: ValidationError, FieldError and their sentinels;
//   - config_host.go: connecting to the host an environment names;
//   - config_secret.go: Secret and the Redactor;
//   - internal/yamlconf: the strict YAML decoder, merge keys and $VAR
//     interpolation;
//   - internal/schemagen: examples/deploy.schema.json from the types.

//go:generate go run ./internal/schemagen . ../examples/deploy.schema.json

// Env returns the environment called name.
func (c *Config) Env(name string) (*Environment, error) {
	if e, ok := c.Environments[name]; ok && e != nil {
		return e, nil
	}
	known := c.EnvNames()
	if len(known) == 0 {
		return nil, fmt.Errorf("%w %q: the configuration defines no environments", ErrUnknownEnvironment, name)
	}
	return nil, fmt.Errorf("%w %q: known environments are %s", ErrUnknownEnvironment, name, strings.Join(known, ", "))
}

// EnvNames returns the environments' names, sorted.
func (c *Config) EnvNames() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MaskedYAML renders the resolved configuration (defaults applied,
// variables expanded) as YAML with every secret shown as "***".
func (c *Config) MaskedYAML() ([]byte, error) {
	out, err := yamlconf.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	return out, nil
}

// LoadDefault loads the file named by $DEPLOY_CONFIG, or deploy.yml in the
// working directory when it is unset. getenv nil means os.Getenv.
func LoadDefault(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	path := getenv("DEPLOY_CONFIG")
	if path == "" {
		path = DefaultConfigFile
	}
	return Load(path, getenv)
}

// Load reads, expands, defaults and validates the configuration in path.
// Values are interpolated as in a Compose file ($VAR, ${VAR},
// ${VAR:-default}, ${VAR:?message}; "$$" is a literal "$") using getenv
// (nil means os.Getenv), except that a variable without a default that is
// unset or empty is an error (see yamlconf.Expand). Merge keys (<<: *base)
// and x- keys (ignored) let environments share blocks. Unknown keys, values of the wrong
// type, variables that are not set and failed validation are all reported
// together in a *ValidationError, one line per problem, each starting with
// the field's path.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load configuration: %s does not exist: create it (examples/deploy.yml documents every field) or point DEPLOY_CONFIG at it: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("load configuration %s: %w", path, err)
	}
	c, err := parse(data, getenv, dir, home)
	if err == nil {
		c.File = path
		err = c.Validate()
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return nil, fmt.Errorf("configuration %s is invalid:\n%w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load configuration %s: %w", path, err)
	}
	return c, nil
}

// parse decodes data onto defaults and applies the dependent defaults.
func parse(data []byte, getenv func(string) string, dir, home string) (*Config, error) {
	c := &Config{}
	var interpolated []string
	read := func(name string) string {
		v := getenv(name)
		if secretVariable.MatchString(name) && len(v) >= 4 {
			interpolated = append(interpolated, v)
		}
		return v
	}
	res, err := yamlconf.Decode(data, c, yamlconf.Options{Getenv: read, NewMapValue: newEnvironment})
	if err != nil {
		return nil, err
	}
	if len(res.Problems) > 0 {
		return nil, &ValidationError{Problems: fieldErrors(res.Problems)}
	}
	c.lines = res.Lines
	for _, e := range c.Environments {
		e.defaults(c.App, getenv, dir, home)
		if len(interpolated) > 0 {
			e.interpolated = func() []string { return interpolated }
		}
	}
	return c, nil
}

// secretVariable matches the names of variables whose values are secrets
// wherever deploy.yml interpolates them (tokens, passwords, keys, database
// URLs with their password).
var secretVariable = regexp.MustCompile(`(?i)(TOKEN|PASSWORD|PASSWD|SECRET|PRIVATE|CREDENTIAL|(^|_)KEY$|(^|_)DSN$|DATABASE_URL)`)

// newEnvironment starts each environment of the file from
// DefaultEnvironment, so the file's values override the defaults.
func newEnvironment(t reflect.Type, name string) reflect.Value {
	if t != reflect.TypeFor[*Environment]() {
		return reflect.Value{}
	}
	return reflect.ValueOf(DefaultEnvironment(name))
}
