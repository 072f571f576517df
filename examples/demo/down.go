package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
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
	before, err := containers(ctx, docker, ws.App)
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

	swept, err := sweep(ctx, docker, ws.App)
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

// labelSets are the filters that find app's Docker objects: the
// blueshift.app label, and the compose project label of each project.
func labelSets(app string) []filters.Args {
	sets := []filters.Args{filters.NewArgs(filters.Arg("label", compose.LabelApp+"="+app))}
	for _, p := range Projects(app) {
		sets = append(sets, filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+p)))
	}
	return sets
}

// containers lists the IDs of app's containers, stopped ones too.
func containers(ctx context.Context, cli *client.Client, app string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, f := range labelSets(app) {
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			return ids, fmt.Errorf("list containers: %w", err)
		}
		for _, c := range cs {
			if !seen[c.ID] {
				seen[c.ID] = true
				ids = append(ids, c.ID)
			}
		}
	}
	return ids, nil
}

// sweep removes the containers, volumes and networks of app left after
// compose (Containers counts the containers it had to remove itself).
func sweep(ctx context.Context, cli *client.Client, app string) (DownReport, error) {
	var rep DownReport
	var errs []error
	ids, err := containers(ctx, cli, app)
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", id[:12], err))
			continue
		}
		rep.Containers++
	}
	sets := labelSets(app)
	seen := map[string]bool{}
	for _, f := range sets {
		vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if err != nil {
			errs = append(errs, fmt.Errorf("list volumes: %w", err))
			continue
		}
		for _, v := range vs.Volumes {
			if seen[v.Name] {
				continue
			}
			seen[v.Name] = true
			if err := cli.VolumeRemove(ctx, v.Name, true); err != nil {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
				continue
			}
			rep.Volumes++
		}
		ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
		if err != nil {
			errs = append(errs, fmt.Errorf("list networks: %w", err))
			continue
		}
		for _, n := range ns {
			if seen[n.ID] {
				continue
			}
			seen[n.ID] = true
			if err := cli.NetworkRemove(ctx, n.ID); err != nil {
				errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
				continue
			}
			rep.Networks++
		}
	}
	return rep, errors.Join(errs...)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
