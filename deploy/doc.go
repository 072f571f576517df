// Package deploy ships a Docker Compose application to a server with
// zero-downtime blue-green deployments: the configuration (deploy.yml), the
// deployment state, and the pipeline of phases (lock, reconcile, prepare,
// notify-start, preflight, test, backup, start the next colour, health,
// smoke, switch, verify, retire, record, notify, unlock: listed in
// pipelines.go) that run on a host reached through deploy/host.
//
// Configuration is strict and documented: Load reads deploy.yml, expands
// ${VAR} and ${VAR:-default} from the environment, applies defaults (the
// seed pipeline's numbers: 30 health attempts 10s apart within 5m, taken
// from health.BackendPolicy, a 5m stability window tolerating 3 errors, 10
// backups kept) and validates everything at once, each problem a *FieldError
// (errors.Is ErrInvalidConfig, and ErrMissingField, ErrUnknownField or
// ErrUnsetVariable by kind) starting with the field's path:
//
//	environments.production.health.backend.interval: invalid duration "10x": want a number with a unit such as 10s, 5m or 1h30m (line 31)
//
// examples/deploy.yml documents every field with its default. Host settings
// and notification credentials fall back to the variables the seed's
// workflow already uses (PRODUCTION_HOST, PRODUCTION_USER, PRODUCTION_PATH,
// PRODUCTION_SSH_KEY, TELEGRAM_BOT_TOKEN, TELEGRAM_PUBLIC_CHAT_ID,
// TELEGRAM_LOG_CHAT_ID, GITHUB_TOKEN). Secrets are of type Secret and print
// as "***" however a Config is printed. A file is decoded into at most
// 20,000 values: YAML aliases nested a few levels deep ("billion laughs")
// are refused at once instead of expanding for minutes.
//
// # The deadline
//
// timeouts.deployment is a deadline on the run (Pipeline.Deadline), not a
// hope: a run still going when it passes fails in the phase it reached with
// a *DeadlineError and is undone like any other failure. Undo steps and the
// finalizers (record, notify, unlock) deliberately run after it on their own
// budgets (Pipeline.UndoTimeout, FinalTimeout): cutting them short would
// leave the half-done state the deadline exists to prevent. So that a
// healthy run never meets the deadline, every phase that can wait has a
// configured bound, and preflight refuses a configuration whose worst cases
// (Environment.Budget, every term listed) add up to more. The default, 90
// minutes, holds the seed's policy (tests 30m, health 5m, monitor 5m) with
// the other phases' default bounds (about 80 minutes for the example).
//
// # Secrets in output
//
// Secret values never reach output, and neither do the host, the SSH user,
// the path and the Telegram chat IDs, which the seed keeps in secrets: the
// engine's logger, history entries, notifications and the frontend's
// console, report and error line all pass through Environment.Redactor
// (the frontend masks Open's own "cannot connect" error too: it names the
// field to check, environments.NAME.host, so the value need not show). The
// test suite, the one command blueshift runs with arbitrary code of the
// application's, gets an allow-listed environment (TestEnvAllowed plus
// tests.env) instead of blueshift's own, which holds the SSH key and the
// tokens: masking what it prints is the second line of defence, not the
// first.
//
// # Undo and rollback
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
