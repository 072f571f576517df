// Package shopdeploy is how an application's own repository extends a
// blueshift deployment: it takes the standard pipeline and adds a phase of
// its own (here: warm the next colour's cache before it gets traffic).
// Its magefile (magefiles/magefile.go) exposes it as `go tool mage deploy VERSION`.
package shopdeploy

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// WarmCache requests the next colour's home page a few times before the
// switch, so the first users do not pay for a cold cache. It runs against
// the colour's own loopback port, which the engine knows.
func WarmCache(eng *deploy.Engine, service string) deploy.Phase {
	return deploy.NewPhase("warm-cache", func(ctx context.Context, d *deploy.Deployment) error {
		port := eng.Env.Ports[service].Port(string(d.Next))
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < 3; i++ {
			resp, err := client.Get(url)
			if err != nil {
				return fmt.Errorf("warm %s: %w", url, err)
			}
			resp.Body.Close()
		}
		d.Values["warmed"] = url
		d.Progress("warmed " + url)
		return nil
	})
}

// Deploy deploys v to env with the shop's extra phase before the switch.
func Deploy(ctx context.Context, configFile, env string, v version.Version, o deploy.Options) (*deploy.Deployment, error) {
	eng, err := deploy.NewFromFile(ctx, configFile, env, o)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	p := eng.Pipeline()
	if err := p.InsertBefore(deploy.PhaseSwitch, WarmCache(eng, "web")); err != nil {
		return nil, err
	}
	d := eng.NewDeployment(v)
	return d, p.Run(ctx, d)
}
