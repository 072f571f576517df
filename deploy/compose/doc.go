// Package compose turns an application's own compose file into the projects a
// blue-green deployment runs, and builds the `docker compose` command lines
// that run them.
//
// Load reads the compose file (and the .env used for interpolation) with
// compose-go, keeping paths relative and env_file entries as references, so
// nothing secret from env files is copied into a rendered file. Env files
// are parsed by ParseEnvFile, which is compose-go's own dotenv parser, so a
// file means the same here as to `docker compose` (inline comments, quotes,
// escapes, ${VAR} references); only the process environment is left out, so
// a render does not depend on the machine it runs on. For the same reason
// deploy sets NoDotEnv for a remote host: the .env beside the compose file
// is the deploying machine's, and the host's env file is read instead.
//
// A rendered project has two encodings: YAML, with the interpolated values,
// for the file written to the host (0600 when it holds any), and
// MaskedYAML, for people, where each value that came from an env file is
// shown as the reference it came from ("${DB_PASSWORD}"). Masking works on
// the values of the finished YAML rather than by rendering again with
// placeholders, because a placeholder would not survive typed fields
// (ports, counts); a value shorter than MinMaskLen is masked only where it
// is a whole string, so "80" does not garble "8080". Render
// splits the loaded project in two: a colour project ("<app>-blue" or
// "<app>-green") holding the stateless services, published on that colour's
// loopback ports and tagged with the version being deployed, and a shared
// project ("<app>") holding the stateful services (database, cache), started
// once and never recreated by a deployment. Named volumes and networks get
// explicit names ("<app>_media", "<app>_net") and are external in both
// projects, so blue, green and the shared services use the same Docker
// objects and no `down` ever deletes them; the caller creates them first
// (deploy/container's EnsureVolume and EnsureNetwork).
//
// CLI builds `docker compose` (v2) or `docker-compose` (v1) command lines as
// host.Cmd values; DetectCLI picks the one a host has. Nothing here runs a
// command except DetectCLI.
package compose
