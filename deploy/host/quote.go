package host

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
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

// remoteCommand is the shell line SSH runs for cmd in a session of its
// own: print the shell's PID as the first line of stderr (Run strips it and
// uses it to kill the program's process group when ctx is cancelled), then
// commandLine.
func remoteCommand(cmd Cmd) (string, error) {
	line, err := commandLine(cmd)
	if err != nil {
		return "", err
	}
	return pidLinePrefix + line, nil
}

// commandLine is the shell line that runs cmd: an optional cd, then exec
// (so the program takes over the shell's PID) of env with the extra
// variables (env -i with ClearEnv), then argv. Both SSH paths (a session
// per command, the shared shell) run exactly this line.
func commandLine(cmd Cmd) (string, error) {
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
	switch {
	case cmd.ClearEnv:
		words = append(words, "env", "-i")
		words = append(words, cmd.Env...)
	case len(cmd.Env) > 0:
		words = append(words, "env")
		words = append(words, cmd.Env...)
	}
	words = append(words, cmd.Argv...)
	line := "exec " + ShellQuote(words)
	if cmd.Dir != "" {
		line = "cd " + quoteWord(cmd.Dir) + " && exec " + ShellQuote(words)
	}
	return line, nil
}

// pidLinePrefix makes the remote shell report its PID on stderr.
const pidLinePrefix = "echo $$ >&2 && "

// pidWriter takes the first line of a remote command's stderr, the PID
// written by pidLinePrefix, and passes the rest on.
type pidWriter struct {
	mu   sync.Mutex
	next io.Writer
	line []byte
	done bool
	pid  int
}

func (w *pidWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return w.next.Write(p)
	}
	n := len(p)
	i := bytes.IndexByte(p, '\n')
	if i < 0 && len(w.line)+len(p) < 32 {
		w.line = append(w.line, p...)
		w.mu.Unlock()
		return n, nil
	}
	w.done = true
	var rest []byte
	if i >= 0 {
		line := append(w.line, p[:i]...)
		if pid, err := strconv.Atoi(string(line)); err == nil && pid > 1 {
			w.pid = pid
			rest = p[i+1:]
		} else {
			rest = append(w.line, p...) // not a PID line: pass it on
		}
	} else {
		rest = append(w.line, p...)
	}
	w.line = nil
	w.mu.Unlock()
	if len(rest) > 0 {
		if _, err := w.next.Write(rest); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// PID is the remote program's PID, or 0 when not known yet.
func (w *pidWriter) PID() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pid
}

// killArgv kills the process group led by pid (sshd starts each session's
// program in its own session) and pid itself.
func killArgv(pid int) []string {
	return []string{"kill", "-s", "KILL", "--", "-" + strconv.Itoa(pid), strconv.Itoa(pid)}
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
