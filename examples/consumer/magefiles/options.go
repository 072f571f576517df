//go:build mage

package main

import "github.com/blueshift-deploy/blueshift/deploy"

func deployOptions() deploy.Options { return deploy.Options{} }
