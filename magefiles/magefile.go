//go:build mage

// Blueshift's Mage frontend: `go tool mage -l` lists the targets, which live
// in the ordinary package magefiles/targets (importable, testable, and
// compiled by `go build ./...`).
package main

//mage:import
import _ "github.com/blueshift-deploy/blueshift/magefiles/targets"
