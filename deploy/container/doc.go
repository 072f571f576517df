// Package container drives a Docker Engine directly, through the Engine API
// client from github.com/docker/docker/client: the operations a deployment
// needs beside `docker compose` itself.
//
// It pulls images with registry credentials (reading the pull stream to its
// end so registry errors are not lost), asks a registry whether an image
// exists without pulling it, finds a colour's containers by their compose and
// blueshift labels, reads their health, runs commands in them (migrations,
// hooks) with stdout, stderr and the exit code kept apart, and tails their
// logs for failure reports. It is blueshift's one Docker wrapper: besides
// deploy/host, which builds the client, no other package imports the Docker
// SDK (deploy's layering test checks it). Docker binds an Engine for
// callers that take an interface, such as health's container probes.
//
// BuildScratchImage and BuildGoBinary build tiny FROM scratch images from a
// static Go binary. Docker Engine cannot pull anything in blueshift's test
// environment, so tests and demos build the images they run this way.
//
// The package is silent: nothing is printed; progress goes to callbacks.
package container
