package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/state"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// Projects are the compose projects of app: both colours and the shared
// one.
func Projects(app string) []string {
	return []string{compose.ColourProject(app, version.Blue), compose.ColourProject(app, version.Green), app}
}

// DownCmds are the commands Down runs: `docker compose down --volumes` of
// each project (by project name, with its rendered file when it exists).
func DownCmds(cli compose.CLI, ws *Workspace) []host.Cmd {
	var out []host.Cmd
	for _, p := range Projects(ws.App) {
		c := cli
		c.ProjectName = p
		c.Files = nil
		if f := filepath.Join(ws.AppDir, state.Dir, "compose", p+".yml"); fileExists(f) {
			c.Files = []string{f}
		}
		out = append(out, c.Down(true))
	}
	return out
}

// DownReport says what Down removed.
type DownReport struct {
	ProxyStopped                  bool
	Containers, Volumes, Networks int
}

// Down removes the demo of o: stops its Caddy, takes down both colours and
// the shared project with their volumes (compose first, then whatever is
// still labelled with the app), and removes the workspace's files. Images
// are kept (a next demo reuses them). Running it again finds nothing to do.
func Down(ctx context.Context, o Options) (DownReport, error) {
	var rep DownReport
	ws, err := Open(o)
	if err != nil {
		return rep, err
	}
	var errs []error
	if rep.ProxyStopped, err = ws.stopProxy(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop caddy: %w", err))
	}
	if rep.ProxyStopped {
		ws.progress("caddy stopped")
	}

	local := host.NewLocal()
	docker, err := host.NewDockerClient(local, ws.DockerSocket)
	if err != nil {
		return rep, errors.Join(append(errs, fmt.Errorf("docker engine: %w", err))...)
	}
	defer docker.Close()
	before, err := container.LabelledContainers(ctx, docker, labels(ws.App))
	if err != nil {
		errs = append(errs, err)
	}
	if cli, _, err := compose.DetectCLI(ctx, local); err == nil && len(before) > 0 {
		cli.Dir = ws.Dir
		for _, cmd := range DownCmds(cli, ws) {
			// Best effort: compose v1 cannot take a project down without its
			// file; the sweep below removes what is left either way.
			if err := local.Run(ctx, cmd); err != nil {
				ws.Logger.Debug("compose down", "argv", cmd.Argv, "err", err)
			}
		}
	}

	swept, err := container.RemoveLabelled(ctx, docker, labels(ws.App))
	rep.Containers, rep.Volumes, rep.Networks = len(before), swept.Volumes, swept.Networks
	if err != nil {
		errs = append(errs, err)
	}
	ws.progress("removed %d container(s), %d volume(s), %d network(s) of %s", rep.Containers, rep.Volumes, rep.Networks, ws.App)

	for _, name := range []string{appDirName, caddyData, caddyColours, caddyConfig, caddyLog, caddyPID, configName, composeName} {
		if err := os.RemoveAll(filepath.Join(ws.Dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(ws.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		ws.Logger.Debug("workspace kept: not empty", "dir", ws.Dir, "err", err)
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("demo down: %w", err)
	}
	return rep, nil
}

// labels are the labels that find app's Docker objects: blueshift.app, and
// the compose project label of each project.
func labels(app string) []string {
	out := []string{compose.LabelApp + "=" + app}
	for _, p := range Projects(app) {
		out = append(out, "com.docker.compose.project="+p)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
