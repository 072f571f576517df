package deploy

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// This file turns HostConfig into a connection: the settings host.NewSSH
// dials with, or this machine for "local".

// IsLocal reports whether the environment runs on this machine.
func (h HostConfig) IsLocal() bool { return h.Address == "local" }

// SSHConfig returns the settings host.NewSSH connects with; the handshake
// is bounded by ConnectTimeout as well. logger nil discards.
func (h HostConfig) SSHConfig(logger *slog.Logger) host.SSHConfig {
	c := host.SSHConfig{
		Addr:              h.Address,
		User:              h.User,
		PrivateKeyFile:    h.SSHKeyFile,
		Passphrase:        h.Passphrase.Reveal(),
		UseAgent:          h.UseAgent,
		KnownHostsFile:    h.KnownHosts,
		PinnedHostKey:     h.HostKey,
		ConnectTimeout:    h.ConnectTimeout,
		HandshakeTimeout:  h.ConnectTimeout,
		KeepaliveInterval: h.Keepalive,
		Sessions:          h.Sessions,
		Logger:            logger,
	}
	if h.SSHKey != "" {
		c.PrivateKeyPEM = []byte(h.SSHKey.Reveal())
	}
	return c
}

// Connect reaches the host: host.NewLocal for "local", host.NewSSH
// otherwise. The caller closes the returned Host. logger nil discards.
func (h HostConfig) Connect(ctx context.Context, logger *slog.Logger) (host.Host, error) {
	if h.IsLocal() {
		return host.NewLocal(), nil
	}
	c, err := host.NewSSH(ctx, h.SSHConfig(logger))
	if err != nil {
		return nil, fmt.Errorf("connect to %s@%s: %w", h.User, h.Address, err)
	}
	return c, nil
}
