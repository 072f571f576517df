// Package backup takes the pre-deployment backup of an application on its
// host, verifies it, keeps a bounded number of them and restores one.
//
// A backup is a directory under the app's backups dir, named like the seed
// pipeline's ("backups/pre-deploy-v1.0.1-20261125_180000/"). It is written
// under a temporary name (".tmp-pre-deploy-...") and renamed only when every
// artifact is on disk and manifest.json, which lists each artifact with its
// size and SHA-256 and ends with "complete": true, has been written. A
// directory without that marker is never treated as a backup.
//
// What goes into a backup is a list of Sources: Postgres (pg_dump in the
// database's container or on the host), Media (tar.gz of a host directory or
// a Docker volume), DockerState (running containers with image digests and
// colours, plus the rendered compose files), Release (version, commit, live
// colour) and Command (any dump command whose stdout is the artifact, like
// the seed's Django JSON dump). Users add their own by implementing Source.
//
// Every file operation runs as a command on the host through a host.Runner,
// so the same code backs up the local machine and a server over SSH, and the
// data itself (database dumps, media archives, checksums) is produced and
// read on the host: it never travels through blueshift.
//
// Credentials (a database password, a dump command's Env) never appear in
// an argv and never in a file on the host: they are written to the stdin of
// the one remote command that needs them, which exports them and execs the
// program. A file, however short-lived, needs a second command to delete it,
// and a connection dropped before that command runs leaves the password on
// the server.
//
// Sources may also implement Restorer, Verifier, Estimator, ToolChecker
// and Prober (tools and estimate in one remote command: over SSH each
// command is a session); Plan.Restore, Verify, Plan.Preflight find those
// abilities by type assertion.
package backup
