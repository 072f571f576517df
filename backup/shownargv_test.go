package backup

import (
	"slices"
	"testing"
)

// TestShownArgvUnwrapsRedirects: an ExitError of a dump or restore names
// the program and the file, not the shell wrapper. With ExitError's
// message cut to about 80 characters of its command, on 8fa63d2's wrapper
// argv a failed pg_dump read "sh -c out=$1; shift; exec "$@" >"$out" sh
// /srv/app/…" and never named pg_dump.
func TestShownArgvUnwrapsRedirects(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{stdoutToFile("/b/db.dump", "pg_dump", "-Fc"), []string{"pg_dump", "-Fc", ">", "/b/db.dump"}},
		{stdinFromFile("/b/db.dump", "pg_restore", "-d", "app"), []string{"pg_restore", "-d", "app", "<", "/b/db.dump"}},
		{[]string{"sh", "-c", "exit 7"}, []string{"sh", "-c", "exit 7"}},
		{[]string{"sh", "-c", "other", "sh", "x", "y"}, []string{"sh", "-c", "other", "sh", "x", "y"}},
	} {
		if got := shownArgv(c.in); !slices.Equal(got, c.want) {
			t.Errorf("shownArgv(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
