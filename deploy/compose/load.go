package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// LoadOptions says where an application's compose file is.
type LoadOptions struct {
	// Dir is the local directory holding the compose file; relative paths in
	// the file (bind mounts, env_file) are relative to it. Required.
	Dir string
	// ComposeFile is the compose file, relative to Dir; default
	// "docker-compose.yml".
	ComposeFile string
	// EnvFile is the env file used to interpolate ${VARIABLES} in the compose
	// file, relative to Dir; default ".env" when it exists (unless NoDotEnv),
	// otherwise none. It is parsed as `docker compose` parses env files (see
	// ParseEnvFile). Values from it can end up in the rendered file: see
	// RenderedProject.FileMode.
	EnvFile string
	// NoDotEnv stops Load from reading Dir/.env when EnvFile is empty. Set it
	// when the project is rendered for another machine: the .env next to
	// the compose file on the machine that renders is not that machine's, and
	// would silently fill variables the host's own env file leaves unset.
	NoDotEnv bool
	// Env holds extra KEY=VALUE pairs for interpolation; they override the
	// env file (deploy passes the host's env file here, parsed with
	// ParseEnvFile). The process environment is never used, so rendering is the
	// same on every machine.
	Env []string
	// Profiles are the compose profiles whose services are loaded; default
	// all ("*"). Services keep their profiles: which of them start is decided
	// when the CLI runs (CLI.Profiles).
	Profiles []string
	// Logger receives what the loader had to change (a dropped `version:`
	// key); nil discards.
	Logger *slog.Logger
}

// Project is an application's compose project as loaded by Load.
type Project struct {
	*types.Project
	// MissingVariables lists the ${VARIABLES} the compose file or env file
	// used that were not set; they were replaced by "" (as compose does).
	MissingVariables []string
	// Interpolated reports whether variables from an env file or Env were
	// available for interpolation: their values (possibly secrets) may be in
	// a rendered file.
	Interpolated bool
	// used holds the variables from an env file or Env that the compose
	// file used, name -> value: what RenderedProject.MaskedYAML hides.
	used map[string]string
}

// ErrNoComposeFile is returned by Load when the compose file does not exist.
var ErrNoComposeFile = errors.New("compose file not found")

// versionKey matches a top-level `version:` line.
var versionKey = regexp.MustCompile(`(?m)^version[ \t]*:.*$`)

// Load reads the compose file described by opts with compose-go. Paths stay
// relative to the file, env_file entries stay references (nothing is read
// from them), and services of every profile are kept (unless opts.Profiles
// narrows them).
func Load(ctx context.Context, opts LoadOptions) (*Project, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Dir == "" {
		return nil, errors.New("compose: load: dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("compose: load: %w", err)
	}
	file := opts.ComposeFile
	if file == "" {
		file = "docker-compose.yml"
	}
	path := filepath.Join(dir, file)
	content, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("compose: load %s: %w (set the compose file in the deploy config)", path, ErrNoComposeFile)
	}
	if err != nil {
		return nil, fmt.Errorf("compose: load: %w", err)
	}
	// compose-go drops a `version:` key with a warning printed to stderr;
	// libraries stay silent, so drop it here (keeping line numbers).
	if loc := versionKey.FindIndex(content); loc != nil {
		log.Debug("compose file has an obsolete version key; ignoring it", "file", path)
		content = versionKey.ReplaceAll(content, []byte("# version: ignored (obsolete)"))
	}

	env := map[string]string{}
	missing := map[string]bool{}
	envFile := opts.EnvFile
	if envFile == "" && !opts.NoDotEnv {
		if _, err := os.Stat(filepath.Join(dir, ".env")); err == nil {
			envFile = ".env"
		}
	}
	if envFile != "" {
		envPath := filepath.Join(dir, envFile)
		data, err := os.ReadFile(envPath)
		if err != nil {
			return nil, fmt.Errorf("compose: load env file: %w", err)
		}
		fromFile, unset, err := ParseEnvFile(data, envPath)
		if err != nil {
			return nil, fmt.Errorf("compose: load env file: %w", err)
		}
		for _, k := range unset {
			missing[k] = true
		}
		for k, v := range fromFile {
			env[k] = v
		}
	}
	for _, kv := range opts.Env {
		k, v, _ := bytes.Cut([]byte(kv), []byte("="))
		env[string(k)] = string(v)
	}

	interpolated := len(env) > 0 // before loading: compose-go adds COMPOSE_PROJECT_NAME to env
	given := maps.Clone(env)
	used := map[string]string{}
	profiles := opts.Profiles
	if len(profiles) == 0 {
		profiles = []string{"*"}
	}
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: content}},
		Environment: env,
	},
		loader.WithProfiles(profiles),
		func(o *loader.Options) {
			o.ResolvePaths = false
			o.SkipResolveEnvironment = true
			o.SkipResolveLabels = true
			// Unset variables become "" as in compose, recorded here rather
			// than warned about on stderr by compose-go.
			o.Interpolate.LookupValue = func(k string) (string, bool) {
				if v, ok := env[k]; ok {
					if _, ok := given[k]; ok {
						used[k] = v
					}
					return v, true
				}
				missing[k] = true
				return "", true
			}
			if name, _ := o.GetProjectName(); name == "" {
				o.SetProjectName(loader.NormalizeProjectName(filepath.Base(dir)), false)
			}
		},
	)
	if err != nil {
		return nil, fmt.Errorf("compose: load %s: %w", path, err)
	}
	p.ComposeFiles = []string{path}
	out := &Project{Project: p, Interpolated: interpolated, used: used}
	for k := range missing {
		out.MissingVariables = append(out.MissingVariables, k)
	}
	sort.Strings(out.MissingVariables)
	if len(out.MissingVariables) > 0 {
		log.Warn("compose file uses variables that are not set; they are empty", "variables", out.MissingVariables)
	}
	return out, nil
}

// ParseEnvFile parses an env file exactly as `docker compose --env-file`
// does, with compose-go's dotenv parser: comments (a " #" ends an unquoted
// value), single quotes (literal), double quotes (escapes such as \n and \"),
// "export " prefixes, multi-line quoted values, and ${VAR} references
// (defaults, ${VAR:-x}, included) to variables defined earlier in the file.
// name is used in errors only.
//
// Unlike docker compose, no process environment is consulted: a reference to
// a variable not defined earlier in the file is empty, and it is returned in
// unset (sorted), so the result is the same wherever it is parsed. A bare
// KEY line (compose's "take it from the environment") is likewise empty.
func ParseEnvFile(data []byte, name string) (vars map[string]string, unset []string, err error) {
	vars = map[string]string{}
	missing := map[string]bool{}
	err = dotenv.ParseWithFormat(bytes.NewReader(data), name, vars, func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		missing[k] = true
		return "", true // as compose with the variable unset, without its stderr warning
	}, dotenv.DotEnv)
	if err != nil {
		return nil, nil, err // "failed to read NAME: line N: ..."
	}
	for k := range missing {
		unset = append(unset, k)
	}
	sort.Strings(unset)
	return vars, unset, nil
}

// ServiceVariable returns the value service's containers get for key: the
// service's `environment:` entry, else, when the service has an
// env_file, the value in envFile (the KEY=VALUE pairs of the env file on
// the host, which Load leaves unread). ok is false when neither sets it.
func (p *Project) ServiceVariable(service, key string, envFile []string) (value string, ok bool) {
	svc, found := p.Services[service]
	if !found {
		return "", false
	}
	if v, set := svc.Environment[key]; set && v != nil {
		return *v, true
	}
	if len(svc.EnvFiles) == 0 {
		return "", false
	}
	for _, kv := range envFile {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			value, ok = v, true
		}
	}
	return value, ok
}
