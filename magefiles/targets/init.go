package targets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/compose"
)

// Init proposes deploy.yml from docker-compose.yml (or -compose=FILE) and the nginx (or -proxy=caddy) configuration it needs; it writes deploy.yml only when none exists (or with -force).
//
// Services with a database or cache image, or a volume where data lives,
// are shared; the others stateless, each publishing a port getting a blue
// and a green loopback port; health and smoke use the path of the URL in
// the web service's healthcheck. deploy.yml is $DEPLOY_CONFIG (default
// ./deploy.yml); when it exists the proposal is printed instead, and said
// so. The proxy's part is printed, never written.
func Init(ctx context.Context, compose, proxy *string, force *bool) error {
	composePath := deref(compose)
	if composePath == "" {
		composePath = "docker-compose.yml"
	}
	target := getenv("DEPLOY_CONFIG")
	if target == "" {
		target = "deploy.yml"
	}
	prop, err := propose(ctx, composePath, target, deref(proxy))
	if err != nil {
		return fail(err)
	}
	overwrite := force != nil && *force
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(target, flags, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		fmt.Fprintf(stdout, "# %s exists: not overwritten (-force replaces it). Proposed:\n%s", target, prop.YAML)
	case err != nil:
		return fail(fmt.Errorf("init: write %s: %w", target, err))
	default:
		_, err = f.Write(prop.YAML)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(fmt.Errorf("init: write %s: %w", target, err))
		}
		fmt.Fprintf(stdout, "# wrote %s: check it with `go tool mage config:check`\n", target)
	}
	fmt.Fprintf(stdout, "\n%s", prop.ProxySnippet)
	return nil
}

// propose loads the Compose file at composePath and proposes the
// deploy.yml to be written at target.
func propose(ctx context.Context, composePath, target, proxy string) (*deploy.Proposal, error) {
	absCompose, err := filepath.Abs(composePath)
	if err != nil {
		return nil, err
	}
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(filepath.Dir(absTarget), absCompose)
	if err != nil {
		return nil, err
	}
	p, err := compose.Load(ctx, compose.LoadOptions{Dir: filepath.Dir(absCompose), ComposeFile: filepath.Base(absCompose), NoDotEnv: true})
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	return deploy.ProposeConfig(p, deploy.ProposeOptions{ComposeFile: filepath.ToSlash(rel), Proxy: proxy})
}
