package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/container"
	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// writeRendered writes a rendered project's compose file on the host.
func (e *Engine) writeRendered(ctx context.Context, rp *compose.RenderedProject, file string) error {
	data, err := rp.YAML()
	if err != nil {
		return err
	}
	// One command: the directory is created by the write itself.
	return host.WriteFile(ctx, e.Host, file, bytes.NewReader(data), host.WriteOptions{Mode: rp.FileMode(), DirMode: 0o700})
}

// ensureImage makes sure ref is on the host's engine, pulling it when
// missing. progress gets human-readable pull updates.
func (e *Engine) ensureImage(ctx context.Context, ref string, progress func(string)) error {
	ok, err := container.ImageExistsLocally(ctx, e.Docker, ref)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	last := time.Time{}
	return container.Pull(ctx, e.Docker, ref, e.registryAuth(), func(p container.Progress) {
		if progress != nil && time.Since(last) > time.Second {
			last = time.Now()
			progress(fmt.Sprintf("pull %s: %s %s %d/%d", ref, p.ID, p.Status, p.Current, p.Total))
		}
	})
}

// registryAuth are the configured registry credentials (a GHCR token).
func (e *Engine) registryAuth() container.RegistryAuth {
	return container.RegistryAuth{Username: e.Env.Registry.Username, Password: e.Env.Registry.Password.Reveal()}
}

// upColour renders version v as colour c, pulls its images, creates the
// shared volumes and network, starts the shared services if absent and
// starts the colour (without waiting: the health phase waits, with its
// policy). It returns the images the colour runs, service -> reference.
func (e *Engine) upColour(ctx context.Context, c version.Colour, v version.Version, id string, progress func(string)) (map[string]string, error) {
	r, err := e.render(ctx, c, v, id)
	if err != nil {
		return nil, err
	}
	imgs := images(r)
	for _, svc := range r.Colour.Services() {
		if err := e.ensureImage(ctx, imgs[svc], progress); err != nil {
			return nil, fmt.Errorf("image of %s: %w", svc, err)
		}
	}
	for _, vol := range r.Volumes {
		if err := container.EnsureVolume(ctx, e.Docker, vol); err != nil {
			return nil, err
		}
	}
	for _, n := range r.Networks {
		if err := container.EnsureNetwork(ctx, e.Docker, n); err != nil {
			return nil, err
		}
	}
	if len(r.Shared.Services()) > 0 {
		shared := e.sharedCLI()
		if err := e.writeRendered(ctx, r.Shared, shared.Files[0]); err != nil {
			return nil, fmt.Errorf("write shared compose file: %w", err)
		}
		if err := e.Host.Run(ctx, shared.UpNoRecreate()); err != nil {
			return nil, fmt.Errorf("start shared services: %w", err)
		}
	}
	cli := e.colourCLI(c)
	if err := e.writeRendered(ctx, r.Colour, cli.Files[0]); err != nil {
		return nil, fmt.Errorf("write %s compose file: %w", c, err)
	}
	if err := e.Host.Run(ctx, cli.Up(0)); err != nil {
		return nil, fmt.Errorf("start %s: %w", c, err)
	}
	// Pin what runs by digest where the registry gave one.
	for svc, ref := range imgs {
		if dg, err := container.ImageDigest(ctx, e.Docker, ref); err == nil && dg != "" {
			imgs[svc] = dg
		}
	}
	return imgs, nil
}

// colourExists reports whether colour c has a rendered file on the host.
func (e *Engine) colourExists(ctx context.Context, c version.Colour) bool {
	ok, err := host.Exists(ctx, e.Host, e.colourCLI(c).Files[0])
	return err == nil && ok
}

// renderedFrom reports whether Docker's container list already shows that
// colour c's containers were created from its rendered compose file (Compose
// labels each container with the files of its project). Blueshift never
// removes a rendered file, so this answers colourExists without a remote
// command (a `test -e` is one SSH session); false means "ask the host".
func (e *Engine) renderedFrom(cs []container.Container, c version.Colour) bool {
	file := e.colourCLI(c).Files[0]
	for _, ct := range cs {
		for _, f := range strings.Split(ct.Labels[composeConfigFilesLabel], ",") {
			if f == file {
				return true
			}
		}
	}
	return false
}

// composeConfigFilesLabel is the label Compose sets on a container to the
// project's compose files, comma-separated.
const composeConfigFilesLabel = "com.docker.compose.project.config_files"

// startColour starts a colour's kept (stopped) containers.
func (e *Engine) startColour(ctx context.Context, c version.Colour) error {
	if err := e.Host.Run(ctx, e.colourCLI(c).Start()); err != nil {
		return fmt.Errorf("start %s: %w", c, err)
	}
	return nil
}

// stopColour stops a colour, keeping its containers for an instant rollback.
func (e *Engine) stopColour(ctx context.Context, c version.Colour) error {
	cli, ok, err := e.existingColourCLI(ctx, c)
	if err != nil || !ok {
		return err
	}
	if err := e.Host.Run(ctx, cli.Stop(e.Env.Timeouts.Drain)); err != nil {
		return fmt.Errorf("stop %s: %w", c, err)
	}
	return nil
}

// removeColour removes a colour's containers (never volumes).
func (e *Engine) removeColour(ctx context.Context, c version.Colour) error {
	cli, ok, err := e.existingColourCLI(ctx, c)
	if err != nil || !ok {
		return err
	}
	if err := e.Host.Run(ctx, cli.Down(false)); err != nil {
		return fmt.Errorf("remove %s: %w", c, err)
	}
	return nil
}

// existingColourCLI is the compose CLI to stop or remove colour c with;
// ok is false when c has neither a rendered file nor containers (a run died
// before it rendered the colour: nothing to do). Without the file, compose
// finds the project's containers by its label (Compose v2).
func (e *Engine) existingColourCLI(ctx context.Context, c version.Colour) (cli compose.CLI, ok bool, err error) {
	cli = e.colourCLI(c)
	// The container list (a Docker API call, no remote command) answers
	// first; the file's existence is asked on the host only when it does not.
	cs, err := container.Containers(ctx, e.Docker, e.App, string(c))
	if err != nil {
		return cli, false, fmt.Errorf("list %s's containers: %w", c, err)
	}
	if e.renderedFrom(cs, c) || e.colourExists(ctx, c) {
		return cli, true, nil
	}
	cli.Files = nil
	return cli, len(cs) > 0, nil
}

// execInColour runs argv in service's container of colour c.
func (e *Engine) execInColour(ctx context.Context, c version.Colour, service string, argv []string) (string, error) {
	var out bytes.Buffer
	cmd := e.colourCLI(c).Exec(service, nil, argv...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := e.Host.Run(ctx, cmd)
	return out.String(), err
}

// colourLogs returns the last lines of a colour's logs (for a failure report).
func (e *Engine) colourLogs(ctx context.Context, c version.Colour, lines int) string {
	var out bytes.Buffer
	cmd := e.colourCLI(c).Logs(lines)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := e.Host.Run(ctx, cmd); err != nil && out.Len() == 0 {
		return "(logs unavailable: " + err.Error() + ")"
	}
	return strings.TrimSpace(out.String())
}

// colourRunning reports whether colour c has running containers.
func (e *Engine) colourRunning(ctx context.Context, c version.Colour) (bool, error) {
	cs, err := container.Containers(ctx, e.Docker, e.App, string(c))
	if err != nil {
		return false, err
	}
	return anyRunning(cs), nil
}

var errNoPorts = errors.New("no ports configured for the service")

// ColourURL is the base URL of service on colour c's own loopback port
// ("http://127.0.0.1:8002"), as seen from the host: reach it with
// HTTPClient, which dials through the host, not from the machine running
// blueshift. An unknown service is an error naming the ports field.
func (e *Engine) ColourURL(c version.Colour, service string) (string, error) {
	p, ok := e.Env.Ports[service]
	if !ok {
		return "", fmt.Errorf("environments.%s.ports.%s: %w", e.Env.Name, service, errNoPorts)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", p.Port(c)), nil
}

// HTTPClient returns an HTTP client whose connections are dialled through
// the host (over SSH when it is remote), as health checks are, so a phase
// of one's own reaches ColourURL's loopback ports from wherever blueshift
// runs. It ignores proxy settings of the environment; timeout bounds each
// request (0: none, then bound requests by their context).
func (e *Engine) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // a colour's port is reached directly, never through a proxy
			DialContext:         e.Host.DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}
