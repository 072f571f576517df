package host

import (
	"bytes"
	"strings"
	"testing"
)

func TestShellQuote(t *testing.T) {
	cases := []struct {
		argv []string
		want string
	}{
		{[]string{"docker", "compose", "-p", "app-blue", "up", "-d"}, "docker compose -p app-blue up -d"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"echo", "two words"}, "echo 'two words'"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", "$HOME", "`id`", "$(id)"}, "echo '$HOME' '`id`' '$(id)'"},
		{[]string{"printf", "a\nb"}, "printf 'a\nb'"},
		{[]string{"K=V"}, "'K=V'"},
		{[]string{"~", "#x", "*", "a;b", "a|b", "a&b", `a\b`, `"q"`}, `'~' '#x' '*' 'a;b' 'a|b' 'a&b' 'a\b' '"q"'`},
		{[]string{"/srv/app/releases/v1.2.3", "user@host:22", "50%", "a+b,c"}, "/srv/app/releases/v1.2.3 user@host:22 50% a+b,c"},
		{[]string{"'"}, `''\'''`},
		{[]string{"héllo"}, "'héllo'"},
	}
	for _, tc := range cases {
		if got := ShellQuote(tc.argv); got != tc.want {
			t.Errorf("ShellQuote(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

func TestRemoteCommand(t *testing.T) {
	cases := []struct {
		cmd  Cmd
		want string
	}{
		{Cmd{Argv: []string{"true"}}, "echo $$ >&2 && exec true"},
		{Cmd{Argv: []string{"ls", "-l"}, Dir: "/srv/my app"}, "echo $$ >&2 && cd '/srv/my app' && exec ls -l"},
		{Cmd{Argv: []string{"printenv", "A"}, Env: []string{"A=it's", "B="}}, `echo $$ >&2 && exec env 'A=it'\''s' 'B=' printenv A`},
		{Cmd{Argv: []string{"printenv"}, Env: []string{"PATH=/bin"}, ClearEnv: true}, `echo $$ >&2 && exec env -i 'PATH=/bin' printenv`},
	}
	for _, tc := range cases {
		got, err := remoteCommand(tc.cmd)
		if err != nil || got != tc.want {
			t.Errorf("remoteCommand(%+v) = %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
	for _, bad := range []Cmd{
		{},
		{Argv: []string{"x"}, Env: []string{"NOEQUALS"}},
		{Argv: []string{"x"}, Env: []string{"1A=x"}},
		{Argv: []string{"x"}, Env: []string{"A B=x"}},
	} {
		if _, err := remoteCommand(bad); err == nil {
			t.Errorf("remoteCommand(%q) succeeded", bad.Env)
		}
	}
	// Values never appear in the error: they may be secrets.
	_, err := remoteCommand(Cmd{Argv: []string{"x"}, Env: []string{"TOKEN=hunter2", "BAD NAME=hunter3"}})
	if err == nil || strings.Contains(err.Error(), "hunter") {
		t.Errorf("err = %v", err)
	}
}

func TestPIDWriter(t *testing.T) {
	var out bytes.Buffer
	w := &pidWriter{next: &out}
	for _, chunk := range []string{"12", "34\nfirst line\n", "second\n"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if w.PID() != 1234 {
		t.Errorf("PID = %d, want 1234", w.PID())
	}
	if out.String() != "first line\nsecond\n" {
		t.Errorf("passed on %q", out.String())
	}

	// Something else first (a chatty shell rc file): passed on untouched.
	for _, chunks := range [][]string{
		{"bash: warning: setlocale: LC_ALL: cannot change locale\n"},
		{"ba", "sh: x\n", "more"},
		{strings.Repeat("z", 40), "\n"},
	} {
		out.Reset()
		w = &pidWriter{next: &out}
		for _, c := range chunks {
			w.Write([]byte(c))
		}
		if want := strings.Join(chunks, ""); w.PID() != 0 || out.String() != want {
			t.Errorf("chunks %q: PID %d, passed on %q", chunks, w.PID(), out.String())
		}
	}
}

func TestKillArgv(t *testing.T) {
	if got := strings.Join(killArgv(4242), " "); got != "kill -s KILL -- -4242 4242" {
		t.Errorf("killArgv = %s", got)
	}
}
