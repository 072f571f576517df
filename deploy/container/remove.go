package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// Remover is the part of the Docker Engine API that LabelledContainers and
// RemoveLabelled use; *client.Client implements it.
type Remover interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkRemove(ctx context.Context, networkID string) error
}

var _ Remover = (*client.Client)(nil)

// Removed counts what RemoveLabelled removed.
type Removed struct {
	Containers, Volumes, Networks int
}

// labelFilters are one filter per label ("key=value"): an object matching
// any of them is selected.
func labelFilters(labels []string) []filters.Args {
	out := make([]filters.Args, 0, len(labels))
	for _, l := range labels {
		out = append(out, filters.NewArgs(filters.Arg("label", l)))
	}
	return out
}

// LabelledContainers returns the IDs of the containers, stopped ones too,
// that carry any of labels ("key=value"), each once.
func LabelledContainers(ctx context.Context, cli Remover, labels []string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, f := range labelFilters(labels) {
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

// RemoveLabelled force-removes the containers (with their anonymous
// volumes), then the volumes and the networks, that carry any of labels
// ("key=value"): what is left of an application after `docker compose
// down`. It goes on after an error and returns them all, joined.
func RemoveLabelled(ctx context.Context, cli Remover, labels []string) (Removed, error) {
	var rep Removed
	ids, err := LabelledContainers(ctx, cli, labels)
	errs := []error{err}
	for _, id := range ids {
		if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", id[:min(12, len(id))], err))
			continue
		}
		rep.Containers++
	}
	seen := map[string]bool{}
	for _, f := range labelFilters(labels) {
		vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if err != nil {
			errs = append(errs, fmt.Errorf("list volumes: %w", err))
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
