package releasenotes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// Options select the commits and what counts as noise.
type Options struct {
	// Dir is the repository's directory on the host; empty means the
	// runner's working directory.
	Dir string
	// From is the previous release (a tag or a recorded commit); empty
	// means from the root commit.
	From string
	// To is what is deployed (tag, commit); empty means HEAD.
	To string
	// Keep lists conventional-commit types listed under Other instead of
	// being skipped as noise. Skipped by default: chore, ci, style, docs,
	// test (and their plural or scoped forms, e.g. chore(deps)).
	Keep []string
}

// ErrBadRef is returned for a ref git could mistake for an option.
var ErrBadRef = errors.New("releasenotes: invalid ref")

// Commit is one commit in the notes.
type Commit struct {
	Hash, ShortHash string
	Author          string
	// Type and Scope come from a conventional subject ("feat(api): ...");
	// both are empty for a free-form message.
	Type, Scope string
	// Subject is the subject without the "type(scope)!:" prefix.
	Subject string
	Body    string
	// Breaking is set by "type!:" or a BREAKING CHANGE footer;
	// BreakingNote holds the footer's text (or the subject).
	Breaking     bool
	BreakingNote string
}

// Section is one group of commits.
type Section struct {
	Title   string
	Commits []Commit
}

// Section titles, in the order sections are rendered.
const (
	Features    = "Features"
	Fixes       = "Fixes"
	Security    = "Security"
	Performance = "Performance"
	Other       = "Other"
)

var sectionOrder = []string{Security, Features, Fixes, Performance, Other}

// Notes are the changes between two refs.
type Notes struct {
	From, To string
	// Sections holds the non-empty groups in a fixed order: Security,
	// Features, Fixes, Performance, Other. Commits keep git's order,
	// newest first.
	Sections []Section
	// Breaking lists the breaking commits (also listed in their section).
	Breaking []Commit
	// Skipped counts merge commits and noise left out.
	Skipped int
}

// fieldSep separates fields of one commit in LogArgv's format; -z separates
// commits with NUL.
const fieldSep = "\x1f"

// LogFormat is the --format of LogArgv: full hash, short hash, author,
// parents, raw message, separated by U+001F.
const LogFormat = "%H%x1f%h%x1f%an%x1f%P%x1f%B"

// LogArgv is the git command listing the commits in from..to (all commits
// reachable from to when from is empty), NUL-separated.
func LogArgv(from, to string) ([]string, error) {
	if to == "" {
		to = "HEAD"
	}
	for _, ref := range []string{from, to} {
		if strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, "\x00\n ") {
			return nil, fmt.Errorf("%w %q: a ref cannot start with '-' or hold spaces", ErrBadRef, ref)
		}
	}
	rev := to
	if from != "" {
		rev = from + ".." + to
	}
	return []string{"git", "log", "--no-color", "--no-show-signature", "--format=" + LogFormat, "-z", rev, "--"}, nil
}

// Generate runs LogArgv in opts.Dir on r and parses its output.
func Generate(ctx context.Context, r host.Runner, opts Options) (*Notes, error) {
	argv, err := LogArgv(opts.From, opts.To)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := r.Run(ctx, host.Cmd{Argv: argv, Dir: opts.Dir, Stdout: &out}); err != nil {
		return nil, fmt.Errorf("releasenotes: list commits %s: %w (check that both refs exist: fetch tags, or a deeper clone)", argv[len(argv)-2], err)
	}
	n, err := Parse(out.Bytes(), opts)
	if err != nil {
		return nil, err
	}
	n.From, n.To = opts.From, opts.To
	if n.To == "" {
		n.To = "HEAD"
	}
	return n, nil
}

var (
	conventional = regexp.MustCompile(`^([A-Za-z]+)(?:\(([^()\r\n]*)\))?(!)?:\s*(.*)$`)
	breakingFoot = regexp.MustCompile(`(?m)^BREAKING[ -]CHANGE:\s*(.+)$`)
	cve          = regexp.MustCompile(`(?i)\bCVE-\d{4}-\d{4,}\b`)
	wip          = regexp.MustCompile(`(?i)^(wip\b|fixup!|squash!|amend!)`)
	mergeSubject = regexp.MustCompile(`^Merge (branch|pull request|remote-tracking branch|tag) `)
)

var noiseTypes = []string{"chore", "chores", "ci", "style", "docs", "doc", "test", "tests"}

// Parse builds notes from the output of LogArgv.
func Parse(log []byte, opts Options) (*Notes, error) {
	n := &Notes{}
	groups := map[string][]Commit{}
	for _, rec := range bytes.Split(log, []byte{0}) {
		rec = bytes.TrimLeft(rec, "\n")
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		f := strings.SplitN(string(rec), fieldSep, 5)
		if len(f) != 5 {
			return nil, fmt.Errorf("releasenotes: parse git log: record %q has %d fields, want 5", trim(string(rec), 60), len(f))
		}
		c := Commit{Hash: f[0], ShortHash: f[1], Author: f[2]}
		parents := strings.Fields(f[3])
		msg := strings.TrimSpace(f[4])
		subject, body, _ := strings.Cut(msg, "\n")
		subject, c.Body = strings.TrimSpace(subject), strings.TrimSpace(body)
		if len(parents) > 1 || mergeSubject.MatchString(subject) || wip.MatchString(subject) {
			n.Skipped++
			continue
		}
		c.Subject = subject
		if m := conventional.FindStringSubmatch(subject); m != nil {
			c.Type, c.Scope, c.Subject = strings.ToLower(m[1]), m[2], m[4]
			c.Breaking = m[3] == "!"
		}
		if m := breakingFoot.FindStringSubmatch(c.Body); m != nil {
			c.Breaking, c.BreakingNote = true, strings.TrimSpace(m[1])
		}
		if c.Breaking && c.BreakingNote == "" {
			c.BreakingNote = c.Subject
		}
		section := classify(c)
		if section == "" && !c.Breaking && !slices.Contains(opts.Keep, c.Type) {
			n.Skipped++
			continue
		}
		if section == "" {
			section = Other
		}
		groups[section] = append(groups[section], c)
		if c.Breaking {
			n.Breaking = append(n.Breaking, c)
		}
	}
	for _, title := range sectionOrder {
		if cs := groups[title]; len(cs) > 0 {
			n.Sections = append(n.Sections, Section{Title: title, Commits: cs})
		}
	}
	return n, nil
}

// classify returns the section of c, or "" for noise.
func classify(c Commit) string {
	switch {
	case c.Type == "security", c.Scope == "security" && c.Type == "fix",
		cve.MatchString(c.Subject), cve.MatchString(c.Body):
		return Security
	case c.Type == "feat" || c.Type == "feature":
		return Features
	case c.Type == "fix" || c.Type == "bugfix" || c.Type == "hotfix":
		return Fixes
	case c.Type == "perf":
		return Performance
	case slices.Contains(noiseTypes, c.Type):
		return ""
	}
	return Other
}

// Empty reports whether the notes list no commit.
func (n *Notes) Empty() bool { return len(n.Sections) == 0 }

// NoChanges is what an empty range renders as.
const NoChanges = "No changes"

func line(c Commit) string {
	s := c.Subject
	if c.Scope != "" {
		s = "**" + c.Scope + ":** " + s
	}
	return s
}

// Markdown renders the notes for GitHub (release bodies, deployment
// descriptions, email):
//
//	### ⚠ Breaking changes
//	- **api:** drop v1 endpoints (`abc1234`, Alice)
//
//	### Features
//	- **api:** add /v2/orders (`abc1234`, Alice)
func (n *Notes) Markdown() string {
	if n.Empty() {
		return NoChanges + "\n"
	}
	var b strings.Builder
	if len(n.Breaking) > 0 {
		b.WriteString("### ⚠ Breaking changes\n")
		for _, c := range n.Breaking {
			note := c.BreakingNote
			if c.Scope != "" {
				note = "**" + c.Scope + ":** " + note
			}
			fmt.Fprintf(&b, "- %s (`%s`, %s)\n", note, c.ShortHash, c.Author)
		}
		b.WriteString("\n")
	}
	for i, s := range n.Sections {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("### " + s.Title + "\n")
		for _, c := range s.Commits {
			mark := ""
			if c.Breaking {
				mark = " ⚠"
			}
			fmt.Fprintf(&b, "- %s%s (`%s`, %s)\n", line(c), mark, c.ShortHash, c.Author)
		}
	}
	return b.String()
}

// Short renders a plain-text summary of at most maxLen characters (runes)
// for chat messages; maxLen <= 0 means no limit. Lines that do not fit are
// replaced by "… and N more".
//
//	⚠ Breaking: drop v1 endpoints
//	Features:
//	• api: add /v2/orders (abc1234)
func (n *Notes) Short(maxLen int) string {
	if n.Empty() {
		return NoChanges
	}
	var lines []string
	for _, c := range n.Breaking {
		lines = append(lines, "⚠ Breaking: "+c.BreakingNote)
	}
	total := 0
	for _, s := range n.Sections {
		lines = append(lines, s.Title+":")
		for _, c := range s.Commits {
			subj := c.Subject
			if c.Scope != "" {
				subj = c.Scope + ": " + subj
			}
			lines = append(lines, "• "+subj+" ("+c.ShortHash+")")
			total++
		}
	}
	out := strings.Join(lines, "\n")
	if maxLen <= 0 || utf8.RuneCountInString(out) <= maxLen {
		return out
	}
	// Keep whole lines while an "… and N more" line still fits after them;
	// a section title is kept only with at least one of its commits.
	var kept []string
	used, shown, header := 0, 0, -1
	for _, l := range lines {
		bullet := strings.HasPrefix(l, "• ")
		rest := total - shown
		if bullet {
			rest--
		}
		need := utf8.RuneCountInString(l) + 1
		if used+need+utf8.RuneCountInString(fmt.Sprintf("… and %d more", rest)) > maxLen {
			break
		}
		kept = append(kept, l)
		used += need
		if bullet {
			shown++
			header = -1
		} else if !strings.HasPrefix(l, "⚠") {
			header = len(kept) - 1
		}
	}
	if header >= 0 {
		kept = kept[:header]
	}
	kept = append(kept, fmt.Sprintf("… and %d more", total-shown))
	return trim(strings.Join(kept, "\n"), maxLen)
}

// trim cuts s to at most n runes.
func trim(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
