package host

import (
	"context"
	"fmt"
	"net"

	"github.com/docker/docker/client"
)

// DefaultDockerSocket is where the Docker Engine listens on a host.
const DefaultDockerSocket = "/var/run/docker.sock"

// NewDockerClient returns a Docker Engine API client for the daemon
// listening on socket (DefaultDockerSocket when empty) as seen from the
// host behind d: every request, including hijacked ones (attach, exec),
// is dialled through d, so the same client code works locally and over
// SSH. The API version is negotiated with the daemon on first use.
//
// The client comes from github.com/docker/docker/client; keeping its
// construction here means a later move to github.com/moby/moby/client
// touches one package.
func NewDockerClient(d Dialer, socket string) (*client.Client, error) {
	if socket == "" {
		socket = DefaultDockerSocket
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", socket)
	}
	c, err := client.NewClientWithOpts(
		client.WithHost("unix://"+socket),
		client.WithAPIVersionNegotiation(),
		// Last: WithHost replaces the dialer.
		client.WithDialContext(dial),
	)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", socket, err)
	}
	return c, nil
}
