package hosttest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FakeEngine is the Docker Engine API over a Fake's Model: what
// deploy/container.Engine asks (images, containers by label, exec, logs,
// volumes, networks) plus ServerVersion, as *client.Client answers it.
// Building images is not supported.
type FakeEngine struct {
	m *Model

	mu    sync.Mutex
	execs map[string]fakeExec
}

type fakeExec struct {
	container Container
	argv      []string
	output    string
	code      int
	done      bool
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("Error response from daemon: "+format+": %w", append(args, cerrdefs.ErrNotFound)...)
}

// ServerVersion is the model's Docker version.
func (e *FakeEngine) ServerVersion(context.Context) (types.Version, error) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	return types.Version{Version: e.m.DockerVersion, APIVersion: "1.51"}, nil
}

// ImageBuild is not supported by the fake.
func (e *FakeEngine) ImageBuild(context.Context, io.Reader, build.ImageBuildOptions) (build.ImageBuildResponse, error) {
	return build.ImageBuildResponse{}, errors.New("fake engine: image build is not supported: use Model.AddImage")
}

// ImagePull copies ref from the model's registry onto the engine.
func (e *FakeEngine) ImagePull(_ context.Context, ref string, _ image.PullOptions) (io.ReadCloser, error) {
	if !e.m.pull(ref) {
		return nil, notFound("pull access denied for %s, repository does not exist or may require 'docker login'", repository(ref))
	}
	return io.NopCloser(strings.NewReader(`{"status":"Pulling from ` + repository(ref) + `"}` + "\n" + `{"status":"Pull complete","id":"0"}` + "\n")), nil
}

// ImageInspect finds ref (or an image ID) on the engine.
func (e *FakeEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	for r, img := range e.m.images {
		if r == ref || img.id == ref {
			resp := image.InspectResponse{ID: img.id, RepoTags: []string{r}}
			if img.digest != "" {
				resp.RepoDigests = []string{img.digest}
			}
			return resp, nil
		}
	}
	return image.InspectResponse{}, notFound("No such image: %s", ref)
}

// DistributionInspect finds ref in the model's registry.
func (e *FakeEngine) DistributionInspect(_ context.Context, ref, _ string) (registry.DistributionInspect, error) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	dg, ok := e.m.registry[ref]
	if !ok {
		return registry.DistributionInspect{}, notFound("manifest unknown: %s", ref)
	}
	return registry.DistributionInspect{Descriptor: ocispec.Descriptor{Digest: digest.Digest(dg)}}, nil
}

// ContainerList lists the containers matching the label filters (all of
// them, as Docker does); stopped ones only with All.
func (e *FakeEngine) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	var out []container.Summary
	for _, c := range e.m.Containers("") {
		if !o.All && !c.Running() {
			continue
		}
		ok := true
		for _, f := range o.Filters.Get("label") {
			ok = ok && matchesFilter(c, "label="+f)
		}
		if !ok {
			continue
		}
		out = append(out, container.Summary{ID: c.ID, Names: []string{"/" + c.Name}, Image: c.Image,
			Labels: c.Labels, State: container.ContainerState(c.State), Status: c.State})
	}
	return out, nil
}

// ContainerInspect describes container id (or name).
func (e *FakeEngine) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	c, ok := e.container(id)
	if !ok {
		return container.InspectResponse{}, notFound("No such container: %s", id)
	}
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: c.ID, Name: "/" + c.Name, Image: e.m.imageID(c.Image),
			State: &container.State{Status: container.ContainerState(c.State), Running: c.Running(), Restarting: c.State == "restarting"},
		},
		Config: &container.Config{Image: c.Image, Labels: c.Labels},
	}, nil
}

func (e *FakeEngine) container(id string) (Container, bool) {
	for _, c := range e.m.Containers("") {
		if c.ID == id || c.Name == id {
			return c, true
		}
	}
	return Container{}, false
}

// ContainerExecCreate prepares argv in a running container.
func (e *FakeEngine) ContainerExecCreate(_ context.Context, id string, o container.ExecOptions) (container.ExecCreateResponse, error) {
	c, ok := e.container(id)
	if !ok {
		return container.ExecCreateResponse{}, notFound("No such container: %s", id)
	}
	if !c.Running() {
		return container.ExecCreateResponse{}, fmt.Errorf("Error response from daemon: container %s is not running", id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.execs == nil {
		e.execs = map[string]fakeExec{}
	}
	execID := fmt.Sprintf("exec-%d", len(e.execs)+1)
	e.execs[execID] = fakeExec{container: c, argv: o.Cmd}
	return container.ExecCreateResponse{ID: execID}, nil
}

// ContainerExecAttach runs the exec and returns its output, multiplexed
// as Docker sends it.
func (e *FakeEngine) ContainerExecAttach(_ context.Context, execID string, _ container.ExecAttachOptions) (types.HijackedResponse, error) {
	e.mu.Lock()
	x, ok := e.execs[execID]
	e.mu.Unlock()
	if !ok {
		return types.HijackedResponse{}, notFound("No such exec instance: %s", execID)
	}
	var out strings.Builder
	x.code = e.m.runIn(x.container, x.argv, &out)
	x.output, x.done = out.String(), true
	e.mu.Lock()
	e.execs[execID] = x
	e.mu.Unlock()
	return hijacked(func(w io.Writer) { _, _ = stdcopy.NewStdWriter(w, stdcopy.Stdout).Write([]byte(x.output)) }), nil
}

// hijacked is a response whose reader gives what write writes.
func hijacked(write func(io.Writer)) types.HijackedResponse {
	var buf bytes.Buffer
	write(&buf)
	client, server := net.Pipe()
	server.Close()
	return types.HijackedResponse{Conn: client, Reader: bufio.NewReader(&buf)}
}

// ContainerExecInspect reports a finished exec's exit code.
func (e *FakeEngine) ContainerExecInspect(_ context.Context, execID string) (container.ExecInspect, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[execID]
	if !ok {
		return container.ExecInspect{}, notFound("No such exec instance: %s", execID)
	}
	return container.ExecInspect{ExecID: execID, ContainerID: x.container.ID, Running: !x.done, ExitCode: x.code}, nil
}

// ContainerLogs returns the container's logs, multiplexed as Docker sends them.
func (e *FakeEngine) ContainerLogs(_ context.Context, id string, _ container.LogsOptions) (io.ReadCloser, error) {
	c, ok := e.container(id)
	if !ok {
		return nil, notFound("No such container: %s", id)
	}
	var buf bytes.Buffer
	_, _ = stdcopy.NewStdWriter(&buf, stdcopy.Stdout).Write([]byte(c.Logs))
	return io.NopCloser(&buf), nil
}

// VolumeInspect finds a volume.
func (e *FakeEngine) VolumeInspect(_ context.Context, name string) (volume.Volume, error) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	mp, ok := e.m.volumes[name]
	if !ok {
		return volume.Volume{}, notFound("get %s: no such volume", name)
	}
	return volume.Volume{Name: name, Mountpoint: mp, Driver: "local"}, nil
}

// VolumeCreate creates a volume (an existing one is returned as it is).
func (e *FakeEngine) VolumeCreate(_ context.Context, o volume.CreateOptions) (volume.Volume, error) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	mp := e.m.ensureVolume(o.Name, o.Labels)
	return volume.Volume{Name: o.Name, Mountpoint: mp, Driver: "local", Labels: o.Labels}, nil
}

// NetworkInspect finds a network.
func (e *FakeEngine) NetworkInspect(_ context.Context, name string, _ network.InspectOptions) (network.Inspect, error) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	labels, ok := e.m.networks[name]
	if !ok {
		return network.Inspect{}, notFound("network %s not found", name)
	}
	return network.Inspect{Name: name, ID: name, Driver: "bridge", Labels: labels}, nil
}

// NetworkCreate creates a network; an existing name is a conflict.
func (e *FakeEngine) NetworkCreate(_ context.Context, name string, o network.CreateOptions) (network.CreateResponse, error) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	if _, ok := e.m.networks[name]; ok {
		return network.CreateResponse{}, fmt.Errorf("Error response from daemon: network with name %s already exists: %w", name, cerrdefs.ErrConflict)
	}
	e.m.networks[name] = o.Labels
	return network.CreateResponse{ID: name}, nil
}

// Networks lists the networks' names.
func (m *Model) Networks() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.networks {
		out = append(out, n)
	}
	return out
}
