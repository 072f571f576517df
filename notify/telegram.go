package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// TelegramMaxLength is the longest message text Telegram accepts, in
// UTF-16 code units.
const TelegramMaxLength = 4096

// Telegram sends events to Telegram chats through the Bot API's
// sendMessage. Successful deployments go to PublicChatID; starts, failures
// and rollbacks go to LogChatID. When one of the two is empty the other is
// used.
type Telegram struct {
	// Token is the bot token (TELEGRAM_BOT_TOKEN). It is sent only in the
	// request path and never appears in errors or logs.
	Token string
	// PublicChatID receives successes (TELEGRAM_PUBLIC_CHAT_ID).
	PublicChatID string
	// LogChatID receives starts, failures and rollbacks (TELEGRAM_LOG_CHAT_ID).
	LogChatID string
	// BaseURL is the Bot API server; default "https://api.telegram.org".
	BaseURL string
	// HTTPClient sends the requests; default a client without timeout
	// (the context bounds each request).
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts per message on 429, 5xx and network
	// errors; default 4.
	MaxAttempts int
	// Backoff is the wait before the first retry after a 5xx or network
	// error, doubled after each; default 1s.
	Backoff time.Duration
	// MaxRetryAfter is the longest 429 retry_after honoured; a longer one
	// fails at once. Default 30s.
	MaxRetryAfter time.Duration
	// Logger receives retries; nil discards.
	Logger *slog.Logger

	mu   sync.Mutex
	sent map[string]int // parts of a message already delivered, for retries
}

// ErrTelegramNoChat is returned when neither chat ID is set.
var ErrTelegramNoChat = errors.New("telegram: no chat id configured (set TELEGRAM_PUBLIC_CHAT_ID or TELEGRAM_LOG_CHAT_ID)")

// TelegramError is a Bot API answer with "ok": false.
type TelegramError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the answer's error_code, Description its description
	// ("Bad Request: chat not found").
	Code        int
	Description string
	// RetryAfter is parameters.retry_after of a 429 answer.
	RetryAfter time.Duration
}

func (e *TelegramError) Error() string {
	msg := fmt.Sprintf("telegram: sendMessage: %d %s", e.Code, e.Description)
	switch {
	case e.Code == http.StatusTooManyRequests:
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusNotFound:
		msg += ": check TELEGRAM_BOT_TOKEN"
	case e.Code == http.StatusBadRequest && strings.Contains(e.Description, "chat not found"):
		msg += ": check the chat id and that the bot is a member of the chat"
	case e.Code == http.StatusForbidden:
		msg += ": the bot was removed from the chat or blocked"
	}
	return msg
}

// Temporary reports whether retrying may help (429 and 5xx).
func (e *TelegramError) Temporary() bool {
	return e.Code == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Name returns "telegram".
func (t *Telegram) Name() string { return "telegram" }

// Notify sends ev as one or more HTML messages to the chat its kind goes to.
func (t *Telegram) Notify(ctx context.Context, ev Event) error {
	chat := t.LogChatID
	if ev.Kind == Succeeded || chat == "" {
		chat = t.PublicChatID
	}
	if chat == "" {
		chat = t.LogChatID
	}
	if chat == "" {
		return ErrTelegramNoChat
	}
	text := TelegramHTML(ev)
	key := chat + "\x00" + text
	t.mu.Lock()
	done := t.sent[key]
	t.mu.Unlock()
	// A retried Notify (the Dispatcher's) resumes after the parts that
	// were delivered instead of repeating them.
	for i, part := range SplitTelegram(text, TelegramMaxLength) {
		if i < done {
			continue
		}
		if err := t.SendMessage(ctx, chat, part); err != nil {
			return err
		}
		t.mu.Lock()
		if t.sent == nil {
			t.sent = map[string]int{}
		}
		t.sent[key] = i + 1
		t.mu.Unlock()
	}
	t.mu.Lock()
	delete(t.sent, key)
	t.mu.Unlock()
	return nil
}

// TelegramHTML renders ev in Telegram's HTML parse mode, every value
// escaped:
//
//	✅ <b>Production Deployment Successful</b>
//
//	🔖 Version: v1.0.1
//	📋 Deployment ID: prod-v1.0.1-20241227_183050
//	📝 Commit: abc1234
//	👤 Deployed by: devops-user
//	⏰ Time: 2024-12-27 18:30:50 UTC
func TelegramHTML(ev Event) string {
	icon := map[Kind]string{Started: "🚀", Succeeded: "✅", Failed: "❌", RolledBack: "🔄"}[ev.Kind]
	var b strings.Builder
	b.WriteString(icon + " <b>" + html.EscapeString(ev.Title()) + "</b>\n\n")
	for _, f := range ev.Facts() {
		b.WriteString(f.Emoji + " " + f.Label + ": " + html.EscapeString(f.Value) + "\n")
	}
	if n := strings.TrimSpace(ev.ReleaseNotes.Short); n != "" && (ev.Kind == Started || ev.Kind == Succeeded) {
		b.WriteString("\n📄 <b>Changes</b>\n" + html.EscapeString(n) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// utf16Len is the length of s in UTF-16 code units, as Telegram counts.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// SplitTelegram splits an HTML message into parts of at most max UTF-16
// units. It splits at line boundaries; a line longer than max is cut at
// rune boundaries outside entities (&amp;) and tags (<b>). Lines holding
// tags are short by construction (titles), so tags are never split apart.
func SplitTelegram(msg string, max int) []string {
	if utf16Len(msg) <= max {
		return []string{msg}
	}
	var parts []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if s := strings.TrimRight(cur.String(), "\n"); strings.TrimSpace(s) != "" {
			parts = append(parts, s)
		}
		cur.Reset()
		curLen = 0
	}
	for _, line := range strings.SplitAfter(msg, "\n") {
		l := utf16Len(line)
		if curLen+l > max {
			flush()
		}
		for l > max {
			head, rest := cutHTML(line, max)
			parts = append(parts, head)
			line, l = rest, utf16Len(rest)
		}
		cur.WriteString(line)
		curLen += l
	}
	flush()
	return parts
}

// cutHTML returns the longest prefix of s of at most max UTF-16 units that
// does not end inside an entity or a tag, and the rest.
func cutHTML(s string, max int) (string, string) {
	n, safe, inEntity, inTag := 0, 0, false, false
	for i, r := range s {
		if !inEntity && !inTag {
			safe = i
		}
		n += utf16.RuneLen(r)
		if n > max {
			break
		}
		switch {
		case r == '&':
			inEntity = true
		case r == ';' && inEntity:
			inEntity = false
		case r == '<':
			inTag = true
		case r == '>' && inTag:
			inTag = false
		}
		if !inEntity && !inTag {
			safe = i + utf8.RuneLen(r)
		}
	}
	if safe == 0 { // one entity longer than max: cannot happen with max >= 10
		_, size := utf8.DecodeRuneInString(s)
		safe = size
	}
	return s[:safe], s[safe:]
}

type telegramRequest struct {
	ChatID                string `json:"chat_id"`
	Text                  string `json:"text"`
	ParseMode             string `json:"parse_mode"`
	DisableWebPagePreview bool   `json:"disable_web_page_preview"`
}

type telegramResponse struct {
	OK          bool   `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// SendMessage sends one HTML message (at most TelegramMaxLength units) to
// chat, retrying 429 (honouring retry_after up to MaxRetryAfter), 5xx and
// network errors up to MaxAttempts times with backoff.
func (t *Telegram) SendMessage(ctx context.Context, chat, text string) error {
	maxAttempts := t.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 4
	}
	backoff := t.Backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	maxRetryAfter := t.MaxRetryAfter
	if maxRetryAfter <= 0 {
		maxRetryAfter = 30 * time.Second
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	body, err := json.Marshal(telegramRequest{ChatID: chat, Text: text, ParseMode: "HTML", DisableWebPagePreview: true})
	if err != nil {
		return fmt.Errorf("telegram: encode message: %w", err)
	}
	for attempt := 1; ; attempt++ {
		err := t.post(ctx, body)
		if err == nil {
			return nil
		}
		var wait time.Duration
		var te *TelegramError
		switch {
		case ctx.Err() != nil:
			return err
		case errors.As(err, &te) && te.Code == http.StatusTooManyRequests:
			if te.RetryAfter > maxRetryAfter {
				return fmt.Errorf("%w: longer than the %s allowed", err, maxRetryAfter)
			}
			wait = te.RetryAfter
		case errors.As(err, &te) && !te.Temporary():
			return err
		default:
			wait = backoff
			backoff *= 2
		}
		if attempt >= maxAttempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		log.LogAttrs(ctx, slog.LevelInfo, "telegram: retrying", slog.Int("attempt", attempt),
			slog.Duration("wait", wait), slog.Any("error", err))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (stopped retrying: %w)", err, ctx.Err())
		case <-timer.C:
		}
	}
}

// post sends one sendMessage request; its errors never hold the token.
func (t *Telegram) post(ctx context.Context, body []byte) error {
	base := strings.TrimRight(t.BaseURL, "/")
	if base == "" {
		base = "https://api.telegram.org"
	}
	redact := replacer(t.Token)
	status, raw, err := postJSON(ctx, t.HTTPClient, base+"/bot"+t.Token+"/sendMessage", nil, body, redact)
	if err != nil {
		return fmt.Errorf("telegram: sendMessage: %w", err)
	}
	var ans telegramResponse
	if err := json.Unmarshal(raw, &ans); err != nil || (!ans.OK && ans.ErrorCode == 0) {
		return &TelegramError{StatusCode: status, Code: status,
			Description: redact(http.StatusText(status) + ": unexpected answer " + strconv.Quote(trimTo(string(raw), 200)))}
	}
	if ans.OK {
		return nil
	}
	return &TelegramError{StatusCode: status, Code: ans.ErrorCode, Description: redact(ans.Description),
		RetryAfter: time.Duration(ans.Parameters.RetryAfter) * time.Second}
}

// trimTo cuts s to at most n bytes at a rune boundary.
func trimTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
