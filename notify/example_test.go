package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/blueshift-deploy/blueshift/notify"
)

// A deployment announces its success to every configured destination; the
// results go into its summary and never change its outcome.
func ExampleDispatcher_Send() {
	// A stand-in for api.telegram.org.
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"ok":true,"result":{"message_id":1}}`)
	}))
	defer bot.Close()

	d := &notify.Dispatcher{
		Notifiers: []notify.Notifier{&notify.Telegram{
			Token:        "123456:ABC", // os.Getenv("TELEGRAM_BOT_TOKEN")
			PublicChatID: "-1001234567890",
			LogChatID:    "-1001234567891",
			BaseURL:      bot.URL,
		}},
		Timeout: 30 * time.Second,
		Retries: 1,
	}
	ev := notify.Event{
		Kind:         notify.Succeeded,
		Version:      "v1.0.1",
		DeploymentID: "prod-v1.0.1-20241227_183050",
		Environment:  "production",
		Commit:       "abc1234def",
		Actor:        notify.ActorFromEnv(func(string) string { return "devops-user" }), // os.Getenv
		LogURL:       notify.LogURLFromEnv(os.Getenv),
		Time:         time.Date(2024, 12, 27, 18, 30, 50, 0, time.UTC),
	}
	for _, r := range d.Send(context.Background(), ev) {
		fmt.Println(r.Notifier, r.Err, r.Attempts)
	}
	fmt.Println(notify.TelegramHTML(ev))
	// Output:
	// telegram <nil> 1
	// ✅ <b>Production Deployment Successful</b>
	//
	// 🔖 Version: v1.0.1
	// 📋 Deployment ID: prod-v1.0.1-20241227_183050
	// 📝 Commit: abc1234
	// 👤 Deployed by: devops-user
	// ⏰ Time: 2024-12-27 18:30:50 UTC
}
