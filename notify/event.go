package notify

import (
	"context"
	"fmt"
	"os/user"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is what happened to a deployment.
type Kind int

// The kinds of deployment events.
const (
	Started Kind = iota + 1
	Succeeded
	Failed
	RolledBack
)

// String returns the kind in lower case ("started", "succeeded", "failed",
// "rolled_back").
func (k Kind) String() string {
	switch k {
	case Started:
		return "started"
	case Succeeded:
		return "succeeded"
	case Failed:
		return "failed"
	case RolledBack:
		return "rolled_back"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ReleaseNotes are the changes a deployment ships, in two renderings.
type ReleaseNotes struct {
	// Markdown is the full form (GitHub, email, webhooks).
	Markdown string
	// Short is a trimmed plain-text form for chat messages.
	Short string
}

// Event is one thing that happened to one deployment.
type Event struct {
	Kind Kind
	// Version is the release being deployed ("v1.0.1").
	Version string
	// DeploymentID identifies the deployment ("prod-v1.0.1-20241227_183050").
	DeploymentID string
	// Environment is the target environment in lower case ("production").
	Environment string
	// Commit is the full commit hash deployed; messages show 7 characters.
	Commit string
	// Ref is the git ref GitHub deployments are created for; empty means
	// Commit, or Version when Commit is empty.
	Ref string
	// Actor is who started the deployment (see ActorFromEnv).
	Actor string
	// Reason is why it was started (DEPLOY_REASON).
	Reason string
	// TestsSkipped is set when the test phase was skipped on request.
	TestsSkipped bool
	// Phase is the phase that failed (Failed, RolledBack).
	Phase string
	// Err is why the deployment failed or was rolled back.
	Err error
	// Automatic is set when a rollback was triggered by a failed check
	// rather than by a person.
	Automatic bool
	// FromVersion and FromDeploymentID name the release a manual rollback
	// (RolledBack, Automatic false) returned from: GitHub marks its
	// deployment inactive.
	FromVersion, FromDeploymentID string
	// Test marks a notification test (notify:test): nothing is deployed.
	// GitHub records it in a transient environment beside the real one
	// (see TestEnvironment) and marks it inactive at once.
	Test bool
	// Duration is how long the deployment took so far.
	Duration time.Duration
	// PublicURL is where the environment is served ("https://the-bot.ru").
	PublicURL string
	// LogURL is where the deployment's log can be read (see LogURLFromEnv).
	LogURL string
	// ReleaseNotes are the changes shipped.
	ReleaseNotes ReleaseNotes
	// Time is when the event happened; zero means when it is sent.
	Time time.Time
}

// Notifier delivers events to one destination.
type Notifier interface {
	// Name identifies the notifier in results and logs ("telegram").
	Name() string
	// Notify delivers ev. It honours ctx and returns an error that holds
	// no secret.
	Notify(ctx context.Context, ev Event) error
}

// ActorFromEnv returns who runs the deployment: GITHUB_ACTOR in GitHub
// Actions, else USER (or USERNAME), else the local user's name, else
// "unknown". getenv is usually os.Getenv.
func ActorFromEnv(getenv func(string) string) string {
	for _, k := range []string{"GITHUB_ACTOR", "USER", "USERNAME"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// LogURLFromEnv returns the URL of the running GitHub Actions run,
// "{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}", or
// "" outside GitHub Actions. getenv is usually os.Getenv.
func LogURLFromEnv(getenv func(string) string) string {
	repo, run := getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if repo == "" || run == "" {
		return ""
	}
	server := strings.TrimRight(getenv("GITHUB_SERVER_URL"), "/")
	if server == "" {
		server = "https://github.com"
	}
	return server + "/" + repo + "/actions/runs/" + run
}

// ShortCommit returns the first 7 characters of a commit hash.
func ShortCommit(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}

// EnvironmentTitle returns the environment capitalised for titles
// ("production" -> "Production"); empty means "Production".
func EnvironmentTitle(env string) string {
	if env == "" {
		return "Production"
	}
	r, n := utf8.DecodeRuneInString(env)
	return string(unicode.ToUpper(r)) + env[n:]
}

// Title is the one-line headline of ev ("Production Deployment Successful",
// "AUTOMATIC ROLLBACK EXECUTED (Production)").
func (ev Event) Title() string {
	env := EnvironmentTitle(ev.Environment)
	switch ev.Kind {
	case Started:
		return env + " Deployment Started"
	case Succeeded:
		return env + " Deployment Successful"
	case Failed:
		return env + " Deployment Failed"
	case RolledBack:
		if ev.Automatic {
			return "AUTOMATIC ROLLBACK EXECUTED (" + env + ")"
		}
		return "ROLLBACK EXECUTED (" + env + ")"
	}
	return env + " Deployment " + ev.Kind.String()
}

// Fact is one labelled line of a message.
type Fact struct {
	Emoji, Label, Value string
}

// TimeFormat is how event times are shown: "2024-12-27 18:30:50 UTC".
const TimeFormat = "2006-01-02 15:04:05 UTC"

// Facts returns the labelled facts every rendering of ev shows, in order,
// leaving out empty ones. Values are plain text (not escaped).
func (ev Event) Facts() []Fact {
	var fs []Fact
	add := func(emoji, label, value string) {
		if value != "" {
			fs = append(fs, Fact{emoji, label, value})
		}
	}
	add("🔖", "Version", ev.Version)
	add("📋", "Deployment ID", ev.DeploymentID)
	add("📝", "Commit", ShortCommit(ev.Commit))
	add("👤", "Deployed by", ev.Actor)
	add("💬", "Reason", ev.Reason)
	if ev.TestsSkipped {
		add("⚠️", "Tests", "SKIPPED")
	}
	add("🧩", "Phase", ev.Phase)
	if ev.Err != nil {
		add("❗", "Error", ev.Err.Error())
	}
	if ev.Duration > 0 {
		add("⏱", "Duration", ev.Duration.Round(time.Second).String())
	}
	add("🌐", "URL", ev.PublicURL)
	add("📜", "Logs", ev.LogURL)
	add("⏰", "Time", ev.when().UTC().Format(TimeFormat))
	return fs
}

func (ev Event) when() time.Time {
	if ev.Time.IsZero() {
		return time.Now()
	}
	return ev.Time
}

// Text renders ev as plain text: the title, the facts and the release notes
// (markdown form when full, else the short form).
func (ev Event) Text(full bool) string {
	var b strings.Builder
	b.WriteString(ev.Title())
	b.WriteString("\n\n")
	for _, f := range ev.Facts() {
		fmt.Fprintf(&b, "%s: %s\n", f.Label, f.Value)
	}
	notes := ev.ReleaseNotes.Short
	if full && ev.ReleaseNotes.Markdown != "" {
		notes = ev.ReleaseNotes.Markdown
	}
	if notes != "" && (ev.Kind == Started || ev.Kind == Succeeded) {
		b.WriteString("\nChanges:\n")
		b.WriteString(strings.TrimRight(notes, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}
