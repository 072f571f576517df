package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ComposeModule and ComposeVersion are the Docker Compose v2 EnsureCompose
// builds when the machine has none.
const (
	ComposeModule  = "github.com/docker/compose/v2"
	ComposeVersion = "v2.40.3"
)

// EnsureCompose makes `docker compose` (v2) available: on a machine whose
// Docker Engine came without the Compose plugin (only docker-compose v1, or
// nothing) it builds Compose v2 from the Go module proxy and installs it as
// the current user's CLI plugin, ~/.docker/cli-plugins/docker-compose
// (progress is told; it takes a few minutes, once). blueshift renders
// compose files that only Compose v2 reads.
func EnsureCompose(ctx context.Context, progress func(string)) error {
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil {
		return nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("install docker compose: %w", err)
	}
	dest := filepath.Join(home, ".docker", "cli-plugins", "docker-compose")
	if progress != nil {
		progress(fmt.Sprintf("docker compose (v2) not found: building %s@%s into %s, once", ComposeModule, ComposeVersion, dest))
	}
	// `go install module/cmd@version` refuses compose's go.mod (it has
	// exclude directives), so build it as a main module from a copy.
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", ComposeModule+"@"+ComposeVersion).Output()
	if err != nil {
		return fmt.Errorf("download %s@%s: %w", ComposeModule, ComposeVersion, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("download %s@%s: no module directory in %q", ComposeModule, ComposeVersion, out)
	}
	src, err := os.MkdirTemp("", "blueshift-compose-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return fmt.Errorf("copy compose sources: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X "+ComposeModule+"/internal.Version="+ComposeVersion, "-o", dest, "./cmd")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build docker compose %s: %w\n%s", ComposeVersion, err, tailText(string(out), 20))
	}
	if err := exec.CommandContext(ctx, "docker", "compose", "version").Run(); err != nil {
		return fmt.Errorf("docker compose still unavailable after installing %s: %w", dest, err)
	}
	return nil
}
