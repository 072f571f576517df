//go:build !unix

package main

// lockDir does nothing where flock does not exist: runs there must not
// overlap.
func lockDir(string) (func(), error) { return func() {}, nil }
