// Package deploy ships a Docker Compose application to a server with
// zero-downtime blue-green deployments: the configuration (deploy.yml), the
// deployment state, and the pipeline of phases (lock, prepare, preflight,
// test, backup, start the next colour, health, smoke, switch, verify, retire,
// record, notify, unlock) that run on a host reached through deploy/host.
//
// Configuration is strict and documented: Load reads deploy.yml, expands
// ${VAR} and ${VAR:-default} from the environment, applies defaults (the
// seed pipeline's numbers: 30 health attempts 10s apart within 5m, a 5m
// stability window tolerating 3 errors, 10 backups kept, a 600s deployment
// timeout) and validates everything at once, each problem starting with the
// field's path:
//
//	environments.production.health.backend.interval: invalid duration "10x": want a number with a unit such as 10s, 5m or 1h30m (line 31)
//
// examples/deploy.yml documents every field with its default. Host settings
// and notification credentials fall back to the variables the seed's
// workflow already uses (PRODUCTION_HOST, PRODUCTION_USER, PRODUCTION_PATH,
// PRODUCTION_SSH_KEY, TELEGRAM_BOT_TOKEN, TELEGRAM_PUBLIC_CHAT_ID,
// TELEGRAM_LOG_CHAT_ID, GITHUB_TOKEN). Secrets are of type Secret and print
// as "***" however a Config is printed.
//
// Undo never stops or removes the colour the proxy serves. After a failure
// the completed phases are undone newest first; the undo of start (and of a
// rollback's start) asks the proxy which colour it serves, not only whether
// this run switched, before it removes or stops the new colour. When the
// switch back failed (nginx refused its configuration, the old colour was
// unhealthy) or the proxy cannot say, the new colour keeps running and
// serving: the outcome is rollback-failed, Deployment.Attention names the
// colour that serves and what to do, and state records that release as the
// current one, so `rollback` then returns to the one before. A first
// deployment that never switched removes its colour even when the proxy was
// set up pointing at it, as nothing served there.
//
// A rollback returns only to a release that served before (state's current
// or previous release, or a succeeded deployment or rollback in history):
// anything else is a deployment, and `rollback -to` refuses it before it
// takes the lock, writes anything or notifies anyone. Going back further
// than the previous release runs preflight, smoke and the post-switch
// monitor as a deployment does, because that release's containers are gone
// and the data may have moved on since it last served.
package deploy
