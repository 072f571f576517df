// Package shopdeploy is how an application's own repository extends a
// blueshift deployment: it takes the standard pipeline and adds a phase of
// its own (here: warm the next colour's cache before it gets traffic).
// Its magefile (magefiles/magefile.go) exposes it as `go tool mage deploy
// VERSION`, beside blueshift's own targets, which it imports.
//
// The README's "Adding your own phase" shows WarmCache and Pipeline as they
// are written here; TestREADMESnippetIsThisCode keeps them the same, and
// TestWarmCacheOverSSH runs them against a real sshd.
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
// switch, so the first users do not pay for a cold cache.
func WarmCache(eng *deploy.Engine, service string) deploy.Phase {
	return deploy.NewPhase("warm-cache", func(ctx context.Context, d *deploy.Deployment) error {
		// d.Next is the colour about to get traffic. ColourURL is its own
		// loopback port on the host; HTTPClient dials through the host (over
		// SSH), so this works wherever mage runs.
		url, err := eng.ColourURL(d.Next, service)
		if err != nil {
			return err
		}
		client := eng.HTTPClient(5 * time.Second)
		for range 3 {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("warm %s: %w", url, err)
			}
			resp.Body.Close()
		}
		d.Values["warmed"] = url
		return nil
	})
}

// Pipeline is the standard deployment pipeline with WarmCache before the switch.
func Pipeline(eng *deploy.Engine) (*deploy.Pipeline, error) {
	p := eng.Pipeline()
	if err := p.InsertBefore(deploy.PhaseSwitch, WarmCache(eng, "web")); err != nil {
		return nil, err
	}
	return p, nil
}

// Deploy deploys v to env with the shop's pipeline.
func Deploy(ctx context.Context, configFile, env string, v version.Version, o deploy.Options) (*deploy.Deployment, error) {
	eng, err := deploy.NewFromFile(ctx, configFile, env, o)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	p, err := Pipeline(eng)
	if err != nil {
		return nil, err
	}
	d := eng.NewDeployment(v)
	return d, p.Run(ctx, d)
}
