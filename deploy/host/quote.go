package host

import (
	"fmt"
	"strings"
)

// ShellQuote joins argv into one POSIX shell command line in which every
// word reaches the program unchanged: words made only of characters the
// shell never interprets stay bare, every other word (including the empty
// word) is wrapped in single quotes, with each ' written as '\”.
//
// It is the only place blueshift builds a shell string, and SSH runs the
// result once; callers always pass argv.
func ShellQuote(argv []string) string {
	var b strings.Builder
	for i, w := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteWord(w))
	}
	return b.String()
}

func quoteWord(w string) string {
	if w != "" && isBare(w) {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// isBare reports whether w means itself to a POSIX shell. '=' is excluded
// so that a word is never taken as an assignment, '~' and '#' because they
// change meaning at the start of a word.
func isBare(w string) bool {
	for _, c := range w {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("_@%+:,./-", c):
		default:
			return false
		}
	}
	return true
}

// remoteCommand is the shell line SSH runs for cmd: an optional cd, then
// exec (so a signal or a kill reaches the program itself, not a shell
// waiting for it) of env with the extra variables, then argv.
func remoteCommand(cmd Cmd) (string, error) {
	if len(cmd.Argv) == 0 {
		return "", fmt.Errorf("run: empty argv")
	}
	var words []string
	for i, kv := range cmd.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			return "", fmt.Errorf("run %s: env entry %d has no '=': write it as NAME=value", cmd.Argv[0], i)
		}
		if !validEnvName(k) {
			return "", fmt.Errorf("run %s: env entry %d: name %q is not a shell identifier ([A-Za-z_][A-Za-z0-9_]*)", cmd.Argv[0], i, k)
		}
	}
	if len(cmd.Env) > 0 {
		words = append(words, "env")
		words = append(words, cmd.Env...)
	}
	words = append(words, cmd.Argv...)
	line := "exec " + ShellQuote(words)
	if cmd.Dir != "" {
		line = "cd " + quoteWord(cmd.Dir) + " && " + line
	}
	return line, nil
}

func validEnvName(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
