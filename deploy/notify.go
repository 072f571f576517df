package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blueshift-deploy/blueshift/notify"
)

// notifiers builds the configured notifiers.
func (e *Engine) notifiers() ([]notify.Notifier, error) {
	n := e.Env.Notify
	var out []notify.Notifier
	if n.Telegram.Enabled() {
		out = append(out, &notify.Telegram{Token: n.Telegram.Token.Reveal(), PublicChatID: n.Telegram.PublicChat,
			LogChatID: n.Telegram.LogChat, BaseURL: e.getenv("BLUESHIFT_TELEGRAM_API"), Logger: e.logger})
	}
	if n.GitHub.Enabled() {
		gh, err := notify.NewGitHub(notify.GitHubConfig{Token: n.GitHub.Token.Reveal(), Repository: n.GitHub.Repo, BaseURL: n.GitHub.APIURL,
			CommitStatuses: n.GitHub.CommitStatuses})
		if err != nil {
			return nil, fmt.Errorf("environments.%s.notify.github: %w", e.Env.Name, err)
		}
		out = append(out, gh)
	}
	if n.Email.Enabled() {
		out = append(out, &notify.Email{Host: n.Email.Host, Port: n.Email.Port, Username: n.Email.Username,
			Password: n.Email.Password.Reveal(), From: n.Email.From, To: n.Email.To})
	}
	if n.Webhook.Enabled() {
		out = append(out, &notify.Webhook{URL: n.Webhook.URL.Reveal()})
	}
	return out, nil
}

// notifyDispatcher returns the fan-out over the configured notifiers; notifiers
// are built once per engine so the GitHub deployment record carries over
// from the start event to the outcome.
func (e *Engine) notifyDispatcher() (*notify.Dispatcher, error) {
	if e.dispatcher != nil {
		return e.dispatcher, nil
	}
	ns, err := e.notifiers()
	if err != nil {
		return nil, err
	}
	e.dispatcher = &notify.Dispatcher{Notifiers: ns, Timeout: e.Env.Timeouts.Notify, Retries: 2, Logger: e.logger}
	return e.dispatcher, nil
}

// event describes d for the notifiers.
func (e *Engine) event(d *Deployment, kind notify.Kind) notify.Event {
	ev := notify.Event{
		Kind: kind, Version: d.Version.String(), DeploymentID: d.ID, Environment: d.Environment,
		Commit: d.Commit, Actor: d.Actor, Reason: d.Reason, TestsSkipped: d.TestsSkipped,
		PublicURL: e.Env.PublicURL, LogURL: notify.LogURLFromEnv(e.getenv),
		ReleaseNotes: notify.ReleaseNotes{Markdown: d.Notes, Short: d.NotesShort},
		Time:         time.Now().UTC(),
	}
	if !d.Report.Started.IsZero() {
		ev.Duration = time.Since(d.Report.Started)
	}
	if d.Failure != nil {
		ev.Phase, ev.Err = d.Failure.Phase, d.Failure.Err
	}
	if len(d.UndoErrors) > 0 {
		errs := []error{ev.Err}
		for _, u := range d.UndoErrors {
			if !errors.Is(u, ErrStillServing) { // said, with what to do, by Attention
				errs = append(errs, u)
			}
		}
		if d.Attention != "" {
			errs = append(errs, errors.New(d.Attention))
		}
		ev.Err = errors.Join(errs...)
	}
	// The notifiers send the error's text to chats and mailboxes.
	ev.Err = RedactError(ev.Err, e.redact)
	return ev
}

// send delivers an event to every notifier; failures are reported in the
// summary and never change the deployment's outcome.
func (e *Engine) send(ctx context.Context, d *Deployment, ev notify.Event) {
	disp, err := e.notifyDispatcher()
	if err != nil {
		d.Warn("notifications disabled: " + e.redact(err.Error()))
		return
	}
	if len(disp.Notifiers) == 0 {
		return
	}
	for _, r := range disp.Send(ctx, ev) {
		if r.Err != nil {
			msg := e.redact(r.Err.Error())
			d.Warn(fmt.Sprintf("notifier %s failed after %d attempt(s): %s", r.Notifier, r.Attempts, msg))
			d.AddFact("notify "+r.Notifier, "FAILED: "+msg)
			continue
		}
		d.AddFact("notify "+r.Notifier, fmt.Sprintf("%s sent in %s", ev.Kind.String(), r.Duration.Round(time.Millisecond)))
	}
}
