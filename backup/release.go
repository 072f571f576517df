package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// ReleaseInfo is what was live when the backup was taken.
type ReleaseInfo struct {
	Version    string            `json:"version"`
	Commit     string            `json:"commit,omitempty"`
	Colour     string            `json:"colour,omitempty"`
	DeployedAt time.Time         `json:"deployed_at,omitzero"`
	Extra      map[string]string `json:"extra,omitempty"`
}

// Release writes the caller's ReleaseInfo as <artifact>.json.
type Release struct {
	// Artifact names the source and its file; default "release".
	Artifact string
	Info     ReleaseInfo
}

// Name returns Artifact or "release".
func (rl *Release) Name() string { return orDefault(rl.Artifact, "release") }

// Backup writes release.json.
func (rl *Release) Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error) {
	arts, files, err := rl.BackupInline(ctx, r, dir)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(ctx, r, dir, files); err != nil {
		return nil, fmt.Errorf("release info: %w", err)
	}
	return arts, nil
}

// BackupInline returns release.json without running anything.
func (rl *Release) BackupInline(context.Context, host.Runner, string) ([]Artifact, []File, error) {
	data, err := json.MarshalIndent(rl.Info, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("release info: encode: %w", err)
	}
	file := rl.Name() + ".json"
	return []Artifact{{Path: file, Kind: KindJSON}}, []File{{Path: file, Data: append(data, '\n')}}, nil
}

// Command saves the stdout of a command (an app-level dump such as Django's
// "python manage.py dumpdata") as a file, running it in a container with
// docker exec or on the host. The output goes straight to the file on the
// host. Argv is recorded in errors: keep secrets out of it and in Env.
type Command struct {
	// Artifact names the source (required).
	Artifact string
	// File is the artifact's file name; default Artifact + ".out".
	File string
	// Container, when set, runs Argv with docker exec in it.
	Container string
	Argv      []string
	// Env holds KEY=VALUE pairs for the command; with Container they are
	// passed through docker exec -e KEY, so values stay out of argv.
	Env []string
}

// Name returns Artifact.
func (c *Command) Name() string { return c.Artifact }

// argv is the command writing its output to out on the host.
func (c *Command) argv(out string) []string {
	if c.Container == "" {
		return stdoutToFile(out, c.Argv...)
	}
	argv := []string{"docker", "exec"}
	for _, kv := range c.Env {
		k, _, _ := strings.Cut(kv, "=")
		argv = append(argv, "-e", k)
	}
	argv = append(argv, c.Container)
	return stdoutToFile(out, append(argv, c.Argv...)...)
}

// Backup runs the command with stdout into the artifact file.
func (c *Command) Backup(ctx context.Context, r host.Runner, dir string) ([]Artifact, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("command source: empty Argv")
	}
	file := orDefault(c.File, c.Name()+".out")
	if err := checkName("command source file", file); err != nil {
		return nil, err
	}
	if err := runSecret(ctx, r, host.Cmd{Argv: c.argv(path.Join(dir, file)), Env: c.Env}); err != nil {
		return nil, fmt.Errorf("dump command %s: %w", c.Name(), err)
	}
	return []Artifact{{Path: file, Kind: KindFile}}, nil
}
