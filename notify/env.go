package notify

// FromEnv returns the notifiers the seed workflow's environment configures:
// Telegram when TELEGRAM_BOT_TOKEN and a chat id (TELEGRAM_PUBLIC_CHAT_ID,
// TELEGRAM_LOG_CHAT_ID) are set; GitHub deployments when GITHUB_TOKEN and
// GITHUB_REPOSITORY are set (GITHUB_API_URL, set by Actions, selects a
// GitHub Enterprise server). Nothing set means no notifiers. getenv is
// usually os.Getenv.
func FromEnv(getenv func(string) string) ([]Notifier, error) {
	var ns []Notifier
	if tok := getenv("TELEGRAM_BOT_TOKEN"); tok != "" {
		tg := &Telegram{Token: tok, PublicChatID: getenv("TELEGRAM_PUBLIC_CHAT_ID"), LogChatID: getenv("TELEGRAM_LOG_CHAT_ID")}
		if tg.PublicChatID == "" && tg.LogChatID == "" {
			return nil, ErrTelegramNoChat
		}
		ns = append(ns, tg)
	}
	if tok, repo := getenv("GITHUB_TOKEN"), getenv("GITHUB_REPOSITORY"); tok != "" && repo != "" {
		gh, err := NewGitHub(GitHubConfig{Token: tok, Repository: repo, BaseURL: getenv("GITHUB_API_URL")})
		if err != nil {
			return nil, err
		}
		ns = append(ns, gh)
	}
	return ns, nil
}
