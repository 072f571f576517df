//go:build mage

// Blueshift's Mage frontend: magefiles/targets (what an application gets)
// and magefiles/devtargets (this repository's test, demo, bench).
//
// Both are ordinary packages (importable, testable, compiled by `go build
// ./...`); only this file imports devtargets.
package main

import (
	//mage:import
	_ "github.com/blueshift-deploy/blueshift/magefiles/devtargets"
	//mage:import
	_ "github.com/blueshift-deploy/blueshift/magefiles/targets"
)
