package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// RegistryAuth are credentials for a registry ("ghcr.io": a user name and
// a token with read:packages). The zero value pulls anonymously. Passwords
// never appear in errors.
type RegistryAuth struct {
	Username, Password string
}

// encode returns the X-Registry-Auth header value for ref's registry.
func (a RegistryAuth) encode() (string, error) {
	if a.Username == "" && a.Password == "" {
		return "", nil
	}
	s, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: a.Username, Password: a.Password})
	if err != nil {
		return "", errors.New("encode registry credentials")
	}
	return s, nil
}

// Progress is one update of a pull: a layer's status ("Downloading",
// "Pull complete") and, while transferring, bytes done of total.
type Progress struct {
	ID, Status     string
	Current, Total int64
}

// ErrPull is wrapped by errors the registry or daemon reported during a pull
// (unknown image, denied access); the message is the daemon's.
var ErrPull = errors.New("image pull failed")

// Pull pulls ref (with auth) on the Docker Engine, reading the daemon's
// stream to its end: a pull has neither finished nor reported its errors
// before. progress, if not nil, gets each update.
func Pull(ctx context.Context, cli Engine, ref string, auth RegistryAuth, progress func(Progress)) error {
	enc, err := auth.encode()
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	rc, err := cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: enc})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	defer rc.Close()
	err = readStream(rc, ErrPull, func(m streamMessage) {
		if progress == nil {
			return
		}
		p := Progress{ID: m.ID, Status: m.Status}
		if m.Progress != nil {
			p.Current, p.Total = m.Progress.Current, m.Progress.Total
		}
		progress(p)
	})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	return nil
}

// ImageExistsLocally reports whether the Docker Engine has image ref.
func ImageExistsLocally(ctx context.Context, cli Engine, ref string) (bool, error) {
	_, err := cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
}

// ImageInRegistry asks the registry, through the daemon and without pulling,
// whether ref exists. It returns the manifest digest ("sha256:...") when it
// does, "" and nil when the registry says it does not.
func ImageInRegistry(ctx context.Context, cli Engine, ref string, auth RegistryAuth) (string, error) {
	enc, err := auth.encode()
	if err != nil {
		return "", fmt.Errorf("inspect %s in registry: %w", ref, err)
	}
	d, err := cli.DistributionInspect(ctx, ref, enc)
	switch {
	case err == nil:
		return d.Descriptor.Digest.String(), nil
	case cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "manifest unknown"):
		return "", nil
	default:
		return "", fmt.Errorf("inspect %s in registry: %w", ref, err)
	}
}

// ErrNoDigest is returned by ImageDigest for an image that was built locally
// and never pushed or pulled: it has no registry digest.
var ErrNoDigest = errors.New("image has no registry digest")

// ImageDigest returns the registry digest of local image ref as
// "repo@sha256:...", for recording exactly what a release ran.
func ImageDigest(ctx context.Context, cli Engine, ref string) (string, error) {
	img, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("image digest of %s: %w", ref, err)
	}
	repo := compose.Repository(ref)
	for _, d := range img.RepoDigests {
		if r, _, _ := strings.Cut(d, "@"); r == repo || strings.HasSuffix(r, "/"+repo) {
			return d, nil
		}
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0], nil
	}
	return "", fmt.Errorf("image digest of %s: %w", ref, ErrNoDigest)
}

// Container is a container of a deployed application.
type Container struct {
	ID, Name string
	// Service and Project are compose's labels.
	Service, Project string
	Image            string
	// State is Docker's ("running", "exited"...); Status is its human text
	// ("Up 3 minutes (healthy)").
	State, Status string
	Labels        map[string]string
}

// Containers lists the containers, running or not, that Render labelled for
// app and colour ("blue" or "green": a version.Colour as a string; or compose.SharedColour),
// sorted by service then name.
func Containers(ctx context.Context, cli Engine, app, colour string) ([]Container, error) {
	f := filters.NewArgs(filters.Arg("label", compose.LabelApp+"="+app))
	if colour != "" {
		f.Add("label", compose.LabelColour+"="+colour)
	}
	return listContainers(ctx, cli, f)
}

func listContainers(ctx context.Context, cli Engine, f filters.Args) ([]Container, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]Container, 0, len(list))
	for _, c := range list {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Container{
			ID: c.ID, Name: name, Image: c.Image, State: string(c.State), Status: c.Status, Labels: c.Labels,
			Service: c.Labels["com.docker.compose.service"], Project: c.Labels["com.docker.compose.project"],
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Health states of a container.
const (
	HealthNone      = "none" // the container has no healthcheck
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Health is a container's state and healthcheck result.
type Health struct {
	// Status is one of HealthNone, HealthStarting, HealthHealthy,
	// HealthUnhealthy.
	Status string
	// Running and State ("running", "exited", "restarting"...) are the
	// container's; ExitCode is set once it exited.
	Running  bool
	State    string
	ExitCode int
	// FailingStreak counts consecutive failed checks; LastOutput is the
	// output of the last check, trimmed.
	FailingStreak int
	LastOutput    string
}

// ContainerHealth inspects the container id (or name).
func ContainerHealth(ctx context.Context, cli Engine, id string) (Health, error) {
	c, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return Health{}, fmt.Errorf("inspect container %s: %w", id, err)
	}
	h := Health{Status: HealthNone}
	if s := c.State; s != nil {
		h.Running, h.State, h.ExitCode = s.Running, string(s.Status), s.ExitCode
		if s.Health != nil {
			h.Status, h.FailingStreak = string(s.Health.Status), s.Health.FailingStreak
			if n := len(s.Health.Log); n > 0 {
				h.LastOutput = strings.TrimSpace(s.Health.Log[n-1].Output)
			}
		}
	}
	return h, nil
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	// Stdout and Stderr hold the end of each stream: at most ExecOutputLimit
	// bytes of it (a failing command's complaint comes last).
	Stdout, Stderr []byte
	ExitCode       int
}

// ExecOutputLimit is how much of each of a command's streams ExecResult keeps.
const ExecOutputLimit = 64 << 10

// execPollInterval is how often Exec asks for the exit code of a command
// whose output has ended but which the daemon still reports running.
const execPollInterval = 10 * time.Millisecond

// Exec runs argv in the running container id, with env (KEY=VALUE) added to
// its environment, and returns its output and exit code. A command that ran
// and failed is not an error: check ExitCode. Env values are never put in
// errors. ctx bounds the whole run: the command's output and its exit.
func Exec(ctx context.Context, cli Engine, id string, argv, env []string) (ExecResult, error) {
	if len(argv) == 0 {
		return ExecResult{}, errors.New("exec: empty argv")
	}
	what := fmt.Sprintf("exec %q in container %s", argv[0], id)
	created, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: argv, Env: env, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return ExecResult{}, fmt.Errorf("%s: %w", what, err)
	}
	// ContainerExecAttach starts the exec; ContainerExecStart must not be
	// called as well.
	att, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("%s: %w", what, err)
	}
	defer att.Close()
	// The hijacked connection does not watch ctx: close it on cancel.
	defer context.AfterFunc(ctx, att.Close)()
	stdout, stderr := host.TailBuffer{N: ExecOutputLimit}, host.TailBuffer{N: ExecOutputLimit}
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return ExecResult{}, fmt.Errorf("%s: read output: %w", what, err)
	}
	code, err := execExitCode(ctx, cli, created.ID)
	if err != nil {
		return ExecResult{}, fmt.Errorf("%s: %w", what, err)
	}
	return ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, nil
}

// execExitCode inspects exec id until the daemon no longer reports it
// running, and returns its exit code: the output stream can end a moment
// before the daemon records the exit.
func execExitCode(ctx context.Context, cli Engine, id string) (int, error) {
	for {
		insp, err := cli.ContainerExecInspect(ctx, id)
		if err != nil {
			return 0, err
		}
		if !insp.Running {
			return insp.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for the exit code: %w", ctx.Err())
		case <-time.After(execPollInterval):
		}
	}
}

// Docker binds an Engine to Exec and ContainerHealth for callers that take
// an interface: health's ExecProbe (health.ContainerExec) and
// ContainerHealthProbe (health.ContainerInspector).
type Docker struct {
	Engine Engine
}

// Exec runs argv in container id (a name or an ID) as the package's Exec
// does, with no environment added.
func (d Docker) Exec(ctx context.Context, id string, argv []string) (ExecResult, error) {
	return Exec(ctx, d.Engine, id, argv, nil)
}

// Health inspects container id as ContainerHealth does.
func (d Docker) Health(ctx context.Context, id string) (Health, error) {
	return ContainerHealth(ctx, d.Engine, id)
}

// Logs returns the last tailLines lines (all when <= 0) of the container's
// stdout and stderr, interleaved as written, for failure reports.
func Logs(ctx context.Context, cli Engine, id string, tailLines int) (string, error) {
	c, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	tail := "all"
	if tailLines > 0 {
		tail = fmt.Sprint(tailLines)
	}
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if c.Config != nil && c.Config.Tty {
		_, err = io.Copy(&buf, rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil {
		return "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	return buf.String(), nil
}

// EnsureVolume creates the volume r (as compose.Render lists it) unless it
// exists; an existing volume is left as it is.
func EnsureVolume(ctx context.Context, cli Engine, r compose.Resource) error {
	_, err := cli.VolumeInspect(ctx, r.Name)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect volume %s: %w", r.Name, err)
	}
	if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: r.Name, Driver: r.Driver, DriverOpts: r.DriverOpts, Labels: r.Labels}); err != nil {
		return fmt.Errorf("create volume %s: %w", r.Name, err)
	}
	return nil
}

// EnsureNetwork creates the bridge network r unless it exists.
func EnsureNetwork(ctx context.Context, cli Engine, r compose.Resource) error {
	_, err := cli.NetworkInspect(ctx, r.Name, network.InspectOptions{})
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect network %s: %w", r.Name, err)
	}
	driver := r.Driver
	if driver == "" {
		driver = "bridge"
	}
	if _, err := cli.NetworkCreate(ctx, r.Name, network.CreateOptions{Driver: driver, Options: r.DriverOpts, Labels: r.Labels}); err != nil {
		if cerrdefs.IsConflict(err) {
			return nil // created meanwhile
		}
		return fmt.Errorf("create network %s: %w", r.Name, err)
	}
	return nil
}

// ServerVersion is the engine's "version (API x)" when e can say it through
// the Docker API (the real client can; fakes may not), and ok false
// otherwise: asking the API costs no command on the host.
func ServerVersion(ctx context.Context, e Engine) (v string, ok bool, err error) {
	sv, ok := e.(interface {
		ServerVersion(context.Context) (types.Version, error)
	})
	if !ok {
		return "", false, nil
	}
	ver, err := sv.ServerVersion(ctx)
	if err != nil {
		return "", true, fmt.Errorf("docker version: %w", err)
	}
	return fmt.Sprintf("%s (API %s)", ver.Version, ver.APIVersion), true, nil
}
