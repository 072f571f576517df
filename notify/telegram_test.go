package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/blueshift-deploy/blueshift/notify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const okAnswer = `{"ok":true,"result":{"message_id":7,"chat":{"id":-1001,"type":"channel"},"date":1735324250,"text":"x"}}`

type sendMessage struct {
	ChatID                string `json:"chat_id"`
	Text                  string `json:"text"`
	ParseMode             string `json:"parse_mode"`
	DisableWebPagePreview bool   `json:"disable_web_page_preview"`
}

func telegramServer(t *testing.T, replies ...func(http.ResponseWriter, *http.Request)) (*recorder, *notify.Telegram) {
	t.Helper()
	rec := &recorder{replies: replies, fallback: reply(200, okAnswer)}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, &notify.Telegram{
		Token: botToken, PublicChatID: "-100111", LogChatID: "-100222",
		BaseURL: srv.URL + "/", Backoff: 10 * time.Millisecond,
	}
}

func decode(t *testing.T, r recorded) sendMessage {
	t.Helper()
	var m sendMessage
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

func TestTelegramSuccessGoesToPublicChatInSeedShape(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t)
	require.NoError(t, tg.Notify(context.Background(), sampleEvent(notify.Succeeded)))

	reqs := rec.all()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.MethodPost, reqs[0].Method)
	assert.Equal(t, "/bot"+botToken+"/sendMessage", reqs[0].Path)
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
	m := decode(t, reqs[0])
	assert.Equal(t, "-100111", m.ChatID)
	assert.Equal(t, "HTML", m.ParseMode)
	assert.True(t, m.DisableWebPagePreview)
	assert.Equal(t, "✅ <b>Production Deployment Successful</b>\n\n"+
		"🔖 Version: v1.0.1\n"+
		"📋 Deployment ID: prod-v1.0.1-20241227_183050\n"+
		"📝 Commit: abc1234\n"+
		"👤 Deployed by: devops-user\n"+
		"⏰ Time: 2024-12-27 18:30:50 UTC", m.Text)
}

func TestTelegramRoutesStartsFailuresAndRollbacksToLogChat(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t)
	ctx := context.Background()
	ev := sampleEvent(notify.RolledBack)
	ev.Automatic, ev.Phase, ev.Err = true, "health", errors.New("web: GET /health: 502")
	ev.Environment = "staging"
	require.NoError(t, tg.Notify(ctx, sampleEvent(notify.Started)))
	require.NoError(t, tg.Notify(ctx, sampleEvent(notify.Failed)))
	require.NoError(t, tg.Notify(ctx, ev))

	reqs := rec.all()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, "-100222", decode(t, r).ChatID)
	}
	assert.True(t, strings.HasPrefix(decode(t, reqs[0]).Text, "🚀 <b>Production Deployment Started</b>"))
	assert.True(t, strings.HasPrefix(decode(t, reqs[1]).Text, "❌ <b>Production Deployment Failed</b>"))
	rb := decode(t, reqs[2]).Text
	assert.True(t, strings.HasPrefix(rb, "🔄 <b>AUTOMATIC ROLLBACK EXECUTED (Staging)</b>"), rb)
	assert.Contains(t, rb, "🧩 Phase: health\n")
	assert.Contains(t, rb, "❗ Error: web: GET /health: 502\n")
	assert.Contains(t, rb, "📋 Deployment ID: prod-v1.0.1-20241227_183050\n")
}

func TestTelegramEscapesUserText(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t)
	ev := sampleEvent(notify.Succeeded)
	ev.Reason = `fix <script>alert("x")</script> & "more"`
	ev.ReleaseNotes.Short = "Fixes:\n• handle a<b & c>d"
	require.NoError(t, tg.Notify(context.Background(), ev))
	text := decode(t, rec.all()[0]).Text
	assert.Contains(t, text, "💬 Reason: fix &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;more&#34;")
	assert.Contains(t, text, "• handle a&lt;b &amp; c&gt;d")
	assert.NotContains(t, text, "<script>")
}

func TestTelegramChatNotFoundIsNotRetried(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t, reply(400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`))
	err := tg.Notify(context.Background(), sampleEvent(notify.Succeeded))
	var te *notify.TelegramError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 400, te.Code)
	assert.Equal(t, "Bad Request: chat not found", te.Description)
	assert.False(t, te.Temporary())
	assert.Contains(t, err.Error(), "bot is a member of the chat")
	assert.NotContains(t, err.Error(), botToken)
	assert.Len(t, rec.all(), 1)
}

func TestTelegramHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t, reply(429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`))
	require.NoError(t, tg.Notify(context.Background(), sampleEvent(notify.Succeeded)))
	reqs := rec.all()
	require.Len(t, reqs, 2)
	gap := reqs[1].At.Sub(reqs[0].At)
	assert.GreaterOrEqual(t, gap, 950*time.Millisecond)
	assert.Less(t, gap, 3*time.Second)
	assert.Equal(t, decode(t, reqs[0]).Text, decode(t, reqs[1]).Text)
}

func TestTelegramRetryAfterLongerThanAllowedFails(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t, reply(429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 600","parameters":{"retry_after":600}}`))
	tg.MaxRetryAfter = 5 * time.Second
	start := time.Now()
	err := tg.Notify(context.Background(), sampleEvent(notify.Succeeded))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "retry after 10m0s")
	assert.Less(t, time.Since(start), time.Second)
	assert.Len(t, rec.all(), 1)
}

func TestTelegramRetries5xxWithBackoff(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t, reply(502, `<html>502 Bad Gateway</html>`))
	require.NoError(t, tg.Notify(context.Background(), sampleEvent(notify.Succeeded)))
	assert.Len(t, rec.all(), 2)

	rec2, tg2 := telegramServer(t, reply(500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`))
	rec2.fallback = reply(500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
	tg2.MaxAttempts = 3
	err := tg2.Notify(context.Background(), sampleEvent(notify.Succeeded))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 3 attempts")
	assert.Len(t, rec2.all(), 3)
}

func TestTelegramHangingServerTimesOutWithoutToken(t *testing.T) {
	t.Parallel()
	_, tg := telegramServer(t, hang, hang, hang, hang)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := tg.Notify(ctx, sampleEvent(notify.Succeeded))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.NotContains(t, err.Error(), botToken)
	assert.Contains(t, err.Error(), "REDACTED")
}

func TestTelegramServerDownErrorHasNoToken(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	tg := &notify.Telegram{Token: botToken, PublicChatID: "1", BaseURL: srv.URL, MaxAttempts: 2, Backoff: time.Millisecond}
	err := tg.Notify(context.Background(), sampleEvent(notify.Succeeded))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), botToken)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestTelegramSplitsLongMessages(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t)
	ev := sampleEvent(notify.Succeeded)
	var notes strings.Builder
	for i := 0; notes.Len() < 20000; i++ {
		notes.WriteString("• 🚀 fix <tag> & “quotes” in Grüße 漢字 ")
		notes.WriteString(strings.Repeat("x", i%50))
		notes.WriteString("\n")
	}
	notes.WriteString(strings.Repeat("&<>", 3000) + "\n") // one line longer than a message
	ev.ReleaseNotes.Short = notes.String()
	require.NoError(t, tg.Notify(context.Background(), ev))

	reqs := rec.all()
	require.Greater(t, len(reqs), 3)
	var all strings.Builder
	for i, r := range reqs {
		text := decode(t, r).Text
		assert.LessOrEqual(t, len(utf16.Encode([]rune(text))), notify.TelegramMaxLength, "part %d", i)
		// No part ends or starts inside an entity.
		if k := strings.LastIndexByte(text, '&'); k >= 0 {
			assert.Contains(t, text[k:], ";", "part %d ends inside an entity", i)
		}
		assert.Equal(t, strings.Count(text, "<b>"), strings.Count(text, "</b>"), "part %d", i)
		all.WriteString(text)
	}
	joined := strings.ReplaceAll(all.String(), "\n", "")
	assert.Equal(t, strings.ReplaceAll(notify.TelegramHTML(ev), "\n", ""), joined)
}

func TestSplitTelegramShortMessageUnchanged(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a\nb"}, notify.SplitTelegram("a\nb", 10))
	assert.Equal(t, []string{"aaaa", "bbbb"}, notify.SplitTelegram("aaaa\nbbbb", 6))
	assert.Equal(t, []string{"a&amp;", "b"}, notify.SplitTelegram("a&amp;b", 6))
	// 😀 is 2 UTF-16 units.
	assert.Equal(t, []string{"😀😀", "😀"}, notify.SplitTelegram("😀😀😀", 4))
}

func TestTelegramRetryResumesAfterDeliveredParts(t *testing.T) {
	t.Parallel()
	rec, tg := telegramServer(t, reply(200, okAnswer), reply(500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`))
	tg.MaxAttempts = 1
	ev := sampleEvent(notify.Succeeded)
	ev.ReleaseNotes.Short = strings.Repeat("• a change worth mentioning\n", 200) // two parts
	d := &notify.Dispatcher{Notifiers: []notify.Notifier{tg}, Retries: 2, Backoff: time.Millisecond}
	res := d.Send(context.Background(), ev)
	require.NoError(t, res[0].Err)
	assert.Equal(t, 2, res[0].Attempts)
	reqs := rec.all()
	require.Len(t, reqs, 3, "part 1, part 2 failing, part 2 again")
	assert.NotEqual(t, decode(t, reqs[0]).Text, decode(t, reqs[1]).Text)
	assert.Equal(t, decode(t, reqs[1]).Text, decode(t, reqs[2]).Text)
}
