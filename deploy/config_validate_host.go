package deploy

// Validation of where an environment runs: host and files.

import "github.com/blueshift-deploy/blueshift/deploy/host"

// host checks host.*: the address, the SSH user and key, the time bounds,
// the session mode.
func (v *envCheck) host() {
	h, prefix := v.e.Host, envPrefix(v.e.Name)
	switch {
	case h.Address == "":
		v.missingAt("host.address", "required: set it to \"local\" or the server's host[:port], or set %sHOST", prefix)
	case h.Address != "local":
		v.hostPort("host.address", h.Address, true)
		if h.User == "" {
			v.missingAt("host.user", "required for an SSH host: set it or %sUSER", prefix)
		}
	}
	if h.SSHKey != "" && h.SSHKeyFile != "" {
		v.addAt("host.ssh_key_file", "set either host.ssh_key or host.ssh_key_file, not both")
	}
	v.positive("host.connect_timeout", h.ConnectTimeout)
	v.positive("host.keepalive", h.Keepalive)
	switch h.Sessions {
	case "", host.SessionsShared, host.SessionsPerCommand:
	default:
		v.addAt("host.sessions", "%q must be %q or %q", h.Sessions, host.SessionsShared, host.SessionsPerCommand)
	}
}

// files checks path, compose_file, env_file and public_url.
func (v *envCheck) files() {
	e := v.e
	if e.Path == "" {
		v.missingAt("path", "required: the application's directory on the host; set it or %sPATH", envPrefix(e.Name))
	} else {
		v.absHostPath("path", e.Path)
	}
	if e.ComposeFile == "" {
		v.missingAt("compose_file", "must not be empty (default docker-compose.yml)")
	}
	if e.EnvFile == "" {
		v.missingAt("env_file", "must not be empty (default .env.%s)", e.Name)
	}
	if e.PublicURL != "" && !isAbsURL(e.PublicURL) {
		v.addAt("public_url", "%q must be an http or https URL", e.PublicURL)
	}
}
