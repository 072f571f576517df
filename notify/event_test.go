package notify_test

import (
	"testing"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/stretchr/testify/assert"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestActorAndLogURLFromEnv(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "octocat", notify.ActorFromEnv(env(map[string]string{"GITHUB_ACTOR": "octocat", "USER": "root"})))
	assert.Equal(t, "alice", notify.ActorFromEnv(env(map[string]string{"USER": "alice"})))
	assert.NotEmpty(t, notify.ActorFromEnv(env(nil)))

	assert.Equal(t, "", notify.LogURLFromEnv(env(nil)))
	assert.Equal(t, "https://github.com/acme/shop/actions/runs/42", notify.LogURLFromEnv(env(map[string]string{
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42"})))
	assert.Equal(t, "https://ghe.example/acme/shop/actions/runs/7", notify.LogURLFromEnv(env(map[string]string{
		"GITHUB_SERVER_URL": "https://ghe.example/", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "7"})))
}

func TestTitles(t *testing.T) {
	t.Parallel()
	ev := notify.Event{Kind: notify.RolledBack, Environment: "staging"}
	assert.Equal(t, "ROLLBACK EXECUTED (Staging)", ev.Title())
	ev.Automatic = true
	assert.Equal(t, "AUTOMATIC ROLLBACK EXECUTED (Staging)", ev.Title())
	assert.Equal(t, "Production Deployment Started", notify.Event{Kind: notify.Started}.Title())
	assert.Equal(t, "rolled_back", notify.RolledBack.String())
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	ns, err := notify.FromEnv(env(nil))
	assert.NoError(t, err)
	assert.Empty(t, ns)

	ns, err = notify.FromEnv(env(map[string]string{
		"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_LOG_CHAT_ID": "-1",
		"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": "https://ghe.example/api/v3",
	}))
	assert.NoError(t, err)
	if assert.Len(t, ns, 2) {
		assert.Equal(t, "telegram", ns[0].Name())
		assert.Equal(t, "-1", ns[0].(*notify.Telegram).LogChatID)
		assert.Equal(t, "github", ns[1].Name())
	}

	_, err = notify.FromEnv(env(map[string]string{"TELEGRAM_BOT_TOKEN": "1:x"}))
	assert.ErrorIs(t, err, notify.ErrTelegramNoChat)
	_, err = notify.FromEnv(env(map[string]string{"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "bad"}))
	assert.ErrorIs(t, err, notify.ErrGitHubConfig)
}
