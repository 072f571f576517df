// Package notify tells people and systems about a deployment: Telegram
// chats, GitHub deployments, email and generic (Slack-compatible) webhooks.
//
// A deployment describes what happened as an [Event] (started, succeeded,
// failed, rolled back) and hands it to a [Dispatcher], which sends it to every
// configured [Notifier] concurrently, each bounded by a timeout and retried
// on temporary errors. Notifications never decide a deployment's outcome:
// Send returns per-notifier [Result]s for the summary, never an error.
//
// Secrets (the Telegram bot token, the GitHub token, the SMTP password, a
// webhook URL) never appear in errors or logs: errors that would carry a URL
// holding a secret are rewritten with the secret redacted. The GitHub token
// goes only to the configured API's scheme and host, and only over https
// (plain http is accepted for a loopback host, where it never crosses a
// network): go-github's own WithAuthToken would add it to every request,
// including one redirected to another host, so GitHub sets the header itself
// per request and strips it from redirects that leave the API's host.
//
// Package notify does not import package deploy.
package notify
