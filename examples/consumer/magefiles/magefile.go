//go:build mage

// The shop's own deployment targets, built on blueshift.
package main

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/version"

	shopdeploy "example.com/shop-deploy"
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
