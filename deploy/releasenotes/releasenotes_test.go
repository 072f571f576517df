package releasenotes_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/host/hosttest"
	"github.com/blueshift-deploy/blueshift/deploy/releasenotes"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repo is a real git repository in a temporary directory.
type repo struct {
	t   *testing.T
	dir string
	n   int
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	_, err := exec.LookPath("git")
	hosttest.Require(t, "git", err)
	r := &repo{t: t, dir: t.TempDir()}
	r.git("Alice Example", "init", "-q", "-b", "main")
	return r
}

func (r *repo) git(author string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME="+author, "GIT_AUTHOR_EMAIL=a@example.org",
		"GIT_COMMITTER_NAME="+author, "GIT_COMMITTER_EMAIL=a@example.org",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// commit adds a file change and commits it with msg; it returns the short hash.
func (r *repo) commit(author, msg string) string {
	r.t.Helper()
	r.n++
	require.NoError(r.t, os.WriteFile(filepath.Join(r.dir, fmt.Sprintf("f%d.txt", r.n)), []byte(msg), 0o644))
	r.git(author, "add", ".")
	r.git(author, "commit", "-q", "-m", msg)
	return r.git(author, "rev-parse", "--short", "HEAD")
}

// history builds: v1.0.0 (root), a release's worth of commits including
// noise, a merged branch, breaking changes and non-ASCII text, then v1.1.0.
func history(t *testing.T) (*repo, map[string]string) {
	r := newRepo(t)
	h := map[string]string{}
	h["root"] = r.commit("Alice Example", "Initial import")
	r.git("Alice Example", "tag", "v1.0.0")
	h["feat"] = r.commit("Alice Example", "feat(api): add orders endpoint")
	h["fix"] = r.commit("Bob", "fix: handle empty cart\n\nCloses #12")
	h["sec"] = r.commit("Bob", "fix(security): escape search input")
	h["perf"] = r.commit("Carol", "perf: cache product list")
	r.commit("dependabot[bot]", "chore(deps): bump pgx to v5.7.2")
	r.commit("Carol", "WIP trying things")
	r.commit("Carol", "fixup! fix: handle empty cart")
	r.commit("Carol", "docs: explain deploys")
	h["bang"] = r.commit("Alice Example", "feat!: drop legacy login")
	h["footer"] = r.commit("Alice Example", "refactor(config): split loader\n\nBREAKING CHANGE: key `db` is now `database`")
	h["cve"] = r.commit("Bob", "Bump libxml2 for CVE-2024-12345")
	h["uni"] = r.commit("Jürgen Groß", "Übersetzung: 修复 подписи «quotes»")
	r.git("Alice Example", "checkout", "-q", "-b", "topic")
	h["branch"] = r.commit("Dmitri", "feat(ui): dark mode")
	r.git("Alice Example", "checkout", "-q", "main")
	r.git("Alice Example", "merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")
	r.git("Alice Example", "tag", "v1.1.0")
	return r, h
}

func TestGenerateGroupsARelease(t *testing.T) {
	t.Parallel()
	r, h := history(t)
	n, err := releasenotes.Generate(context.Background(), host.NewLocal(), releasenotes.Options{Dir: r.dir, From: "v1.0.0", To: "v1.1.0"})
	require.NoError(t, err)

	titles := map[string][]string{}
	for _, s := range n.Sections {
		for _, c := range s.Commits {
			titles[s.Title] = append(titles[s.Title], c.ShortHash)
		}
	}
	assert.Equal(t, map[string][]string{
		"Security":    {h["cve"], h["sec"]},
		"Features":    {h["branch"], h["bang"], h["feat"]},
		"Fixes":       {h["fix"]},
		"Performance": {h["perf"]},
		"Other":       {h["uni"], h["footer"]},
	}, titles)
	assert.Equal(t, 5, n.Skipped, "merge, chore(deps), WIP, fixup!, docs")
	require.Len(t, n.Breaking, 2)
	assert.Equal(t, "key `db` is now `database`", n.Breaking[0].BreakingNote)
	assert.Equal(t, "drop legacy login", n.Breaking[1].BreakingNote)

	want := "### ⚠ Breaking changes\n" +
		"- **config:** key `db` is now `database` (`" + h["footer"] + "`, Alice Example)\n" +
		"- drop legacy login (`" + h["bang"] + "`, Alice Example)\n" +
		"\n### Security\n" +
		"- Bump libxml2 for CVE-2024-12345 (`" + h["cve"] + "`, Bob)\n" +
		"- **security:** escape search input (`" + h["sec"] + "`, Bob)\n" +
		"\n### Features\n" +
		"- **ui:** dark mode (`" + h["branch"] + "`, Dmitri)\n" +
		"- drop legacy login ⚠ (`" + h["bang"] + "`, Alice Example)\n" +
		"- **api:** add orders endpoint (`" + h["feat"] + "`, Alice Example)\n" +
		"\n### Fixes\n" +
		"- handle empty cart (`" + h["fix"] + "`, Bob)\n" +
		"\n### Performance\n" +
		"- cache product list (`" + h["perf"] + "`, Carol)\n" +
		"\n### Other\n" +
		"- Übersetzung: 修复 подписи «quotes» (`" + h["uni"] + "`, Jürgen Groß)\n" +
		"- **config:** split loader ⚠ (`" + h["footer"] + "`, Alice Example)\n"
	assert.Equal(t, want, n.Markdown())
	assert.Equal(t, "v1.0.0", n.From)
	assert.Equal(t, "v1.1.0", n.To)
}

func TestGenerateFromRootAndKeep(t *testing.T) {
	t.Parallel()
	r, h := history(t)
	n, err := releasenotes.Generate(context.Background(), host.NewLocal(), releasenotes.Options{Dir: r.dir, Keep: []string{"docs"}})
	require.NoError(t, err)
	md := n.Markdown()
	assert.Contains(t, md, "- Initial import (`"+h["root"]+"`, Alice Example)\n")
	assert.Contains(t, md, "- explain deploys (`")
	assert.NotContains(t, md, "bump pgx")
	assert.Equal(t, "HEAD", n.To)
}

func TestGenerateEmptyRange(t *testing.T) {
	t.Parallel()
	r, _ := history(t)
	n, err := releasenotes.Generate(context.Background(), host.NewLocal(), releasenotes.Options{Dir: r.dir, From: "v1.1.0", To: "v1.1.0"})
	require.NoError(t, err)
	assert.True(t, n.Empty())
	assert.Equal(t, "No changes\n", n.Markdown())
	assert.Equal(t, "No changes", n.Short(100))
}

func TestGenerateUnknownRefSaysWhatToDo(t *testing.T) {
	t.Parallel()
	r, _ := history(t)
	_, err := releasenotes.Generate(context.Background(), host.NewLocal(), releasenotes.Options{Dir: r.dir, From: "v0.9.0", To: "v1.1.0"})
	var exit *host.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Contains(t, err.Error(), "v0.9.0..v1.1.0")
	assert.Contains(t, err.Error(), "fetch tags")

	_, err = releasenotes.Generate(context.Background(), host.NewLocal(), releasenotes.Options{Dir: r.dir, From: "--output=/tmp/x"})
	assert.ErrorIs(t, err, releasenotes.ErrBadRef)
}

func TestShortFitsAndCounts(t *testing.T) {
	t.Parallel()
	r, h := history(t)
	n, err := releasenotes.Generate(context.Background(), host.NewLocal(), releasenotes.Options{Dir: r.dir, From: "v1.0.0", To: "v1.1.0"})
	require.NoError(t, err)
	full := n.Short(0)
	assert.True(t, strings.HasPrefix(full, "⚠ Breaking: key `db` is now `database`\n⚠ Breaking: drop legacy login\nSecurity:\n• Bump libxml2 for CVE-2024-12345 ("+h["cve"]+")\n"), full)
	assert.Contains(t, full, "• ui: dark mode ("+h["branch"]+")")
	assert.Equal(t, full, n.Short(utf8.RuneCountInString(full)))

	for _, max := range []int{5, 20, 60, 120, 200, 300} {
		s := n.Short(max)
		assert.LessOrEqual(t, utf8.RuneCountInString(s), max, "max %d: %q", max, s)
		lines := strings.Split(s, "\n")
		if max >= 20 {
			assert.Regexp(t, `^… and \d+ more$`, lines[len(lines)-1], "max %d", max)
		}
		if len(lines) > 1 {
			assert.NotRegexp(t, `:$`, lines[len(lines)-2], "no dangling title at %d: %q", max, s)
		}
	}
	s := n.Short(120)
	shown := strings.Count(s, "• ")
	assert.Contains(t, s, fmt.Sprintf("… and %d more", 9-shown))
}

func TestLogArgv(t *testing.T) {
	t.Parallel()
	argv, err := releasenotes.LogArgv("v1.0.0", "abc123")
	require.NoError(t, err)
	assert.Equal(t, []string{"git", "log", "--no-color", "--no-show-signature", "--format=%H%x1f%h%x1f%an%x1f%P%x1f%B", "-z", "v1.0.0..abc123", "--"}, argv)
	argv, err = releasenotes.LogArgv("", "")
	require.NoError(t, err)
	assert.Equal(t, "HEAD", argv[len(argv)-2])
	_, err = releasenotes.LogArgv("-x", "HEAD")
	assert.ErrorIs(t, err, releasenotes.ErrBadRef)
}

func TestParse(t *testing.T) {
	t.Parallel()
	log := "aaaa\x1faa\x1fAnn\x1fpp\x1ffeat(db)!: use pgx\n\nBREAKING-CHANGE: needs PG 13\n\x00" +
		"bbbb\x1fbb\x1fBen\x1fpp qq\x1fMerge pull request #3 from x/y\n\x00" +
		"cccc\x1fcc\x1fCid\x1fpp\x1fsecurity: rotate keys\n\x00"
	n, err := releasenotes.Parse([]byte(log), releasenotes.Options{})
	require.NoError(t, err)
	require.Len(t, n.Sections, 2)
	assert.Equal(t, "Security", n.Sections[0].Title)
	assert.Equal(t, "Features", n.Sections[1].Title)
	c := n.Sections[1].Commits[0]
	assert.Equal(t, releasenotes.Commit{Hash: "aaaa", ShortHash: "aa", Author: "Ann", Type: "feat", Scope: "db", Subject: "use pgx",
		Body: "BREAKING-CHANGE: needs PG 13", Breaking: true, BreakingNote: "needs PG 13"}, c)
	assert.Equal(t, 1, n.Skipped)

	_, err = releasenotes.Parse([]byte("garbage\x00"), releasenotes.Options{})
	assert.Error(t, err)
}

// failingRunner is a host.Runner whose commands all fail.
type failingRunner struct{ argv []string }

func (f *failingRunner) Run(_ context.Context, c host.Cmd) error {
	f.argv = c.Argv
	return errors.New("connection lost")
}

func TestGenerateRunsThroughRunner(t *testing.T) {
	t.Parallel()
	fr := &failingRunner{}
	_, err := releasenotes.Generate(context.Background(), fr, releasenotes.Options{From: "v1", To: "v2"})
	require.ErrorContains(t, err, "connection lost")
	assert.Equal(t, "v1..v2", fr.argv[len(fr.argv)-2])
}
