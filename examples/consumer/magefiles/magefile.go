//go:build mage

// The shop's deployment targets: blueshift's (deploy:production, rollback,
// status, …) plus its own deploy with a cache-warming phase.
package main

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/version"

	shopdeploy "example.com/shop-deploy"

	//mage:import
	_ "github.com/blueshift-deploy/blueshift/magefiles/targets"
)

// Deploy deploys VERSION to production with the shop's cache-warming phase.
func Deploy(ctx context.Context, v string) error {
	ver, err := version.Parse(v)
	if err != nil {
		return err
	}
	d, err := shopdeploy.Deploy(ctx, "deploy.yml", "production", ver, deployOptions())
	if d != nil {
		fmt.Printf("%s: %s\n", d.ID, d.Outcome)
	}
	return err
}
