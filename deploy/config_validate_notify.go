package deploy

import (
	"net/url"

	"github.com/blueshift-deploy/blueshift/notify"
)

// Validation of who hears about deployments: notify.*. A channel is
// checked only when it is enabled (its token or host is set).

// notify checks notify.*.
func (v *envCheck) notify() {
	n := v.e.Notify
	if n.Telegram.Enabled() && n.Telegram.PublicChat == "" {
		v.missingAt("notify.telegram.public_chat", "required with a Telegram token: set it or TELEGRAM_PUBLIC_CHAT_ID")
	}
	if n.GitHub.Enabled() {
		v.github(n.GitHub)
	}
	if n.Email.Enabled() {
		v.email(n.Email)
	}
	if n.Webhook.Enabled() && !isAbsURL(n.Webhook.URL.Reveal()) {
		v.addAt("notify.webhook.url", "must be an http or https URL")
	}
}

// github checks notify.github.* of an enabled GitHub channel.
func (v *envCheck) github(g GitHubConfig) {
	if !repoRE.MatchString(g.Repo) {
		var kind error
		if g.Repo == "" {
			kind = ErrMissingField
		}
		v.addKind(v.at("notify.github.repo"), kind, "%q must be owner/name (required with a GitHub token; GITHUB_REPOSITORY is used when set)", g.Repo)
	}
	if u, err := url.Parse(g.APIURL); err != nil || !isAbsURL(g.APIURL) {
		v.addAt("notify.github.api_url", "%q must be an https URL", g.APIURL)
	} else if err := notify.CheckGitHubURL(u); err != nil {
		v.addAt("notify.github.api_url", "%v", err)
	}
}

// email checks notify.email.* of an enabled email channel.
func (v *envCheck) email(m EmailConfig) {
	v.checkPort(v.at("notify.email.port"), m.Port)
	if m.From == "" {
		v.missingAt("notify.email.from", "required with notify.email.host")
	}
	if len(m.To) == 0 {
		v.missingAt("notify.email.to", "required with notify.email.host: list at least one recipient")
	}
}
