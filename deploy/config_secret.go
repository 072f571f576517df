package deploy

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file keeps secrets out of output: the Secret type, which prints
// masked every way, and Environment.Redactor, which masks secrets and the
// values that identify where an environment runs in text that did not
// come from a Secret (command output, library errors).

// Secret is a configuration value that must never be shown: every way of
// printing it (fmt, slog, JSON, YAML) gives "***", or "" when it is empty.
// Reveal returns the value for the code that needs it.
type Secret string

const mask = "***"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "***" ("" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return mask
}

// Format prints the masked form for every verb, so %v, %s, %q, %x and %#v
// never show the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(s.String()))
		return
	}
	fmt.Fprint(f, s.String())
}

// GoString returns the masked form.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the masked form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes the masked form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText writes the masked form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Secrets returns the environment's secret values (every Secret field,
// found by reflection so a new field cannot be forgotten), for masking
// output the libraries could not know was secret.
func (e *Environment) Secrets() []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k))
			}
		case reflect.String:
			if v.Type() == reflect.TypeFor[Secret]() && v.Len() >= 4 {
				out = append(out, v.String())
			}
		}
	}
	walk(reflect.ValueOf(e))
	return out
}

// Redactor returns a function replacing with "***" every secret of the
// environment (and each line of a multi-line one, such as a PEM key), and
// the values that identify where it runs: the host's address (and its name
// without the port), the SSH user, the application's path and the Telegram
// chat IDs, which the seed keeps in secrets too (PRODUCTION_HOST,
// PRODUCTION_USER, PRODUCTION_PATH, TELEGRAM_*_CHAT_ID).
//
// Secrets are replaced wherever they occur. The identifying values are
// replaced only as whole words (not inside a longer name of letters,
// digits and "_"), so a user called "deploy" masks "deploy:production" but
// not "deployment"; values shorter than 4 characters and the address
// "local" are left alone.
func (e *Environment) Redactor() func(string) string {
	var pairs []string
	secrets := e.Secrets()
	if e.interpolated != nil {
		secrets = append(secrets, e.interpolated()...)
	}
	for _, s := range secrets {
		pairs = append(pairs, s, mask)
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 8 {
				pairs = append(pairs, line, mask)
			}
		}
	}
	r := strings.NewReplacer(pairs...)
	words := e.identifying()
	return func(s string) string {
		s = r.Replace(s)
		for _, w := range words {
			s = replaceWord(s, w, mask)
		}
		return s
	}
}

// identifying lists the values Redactor masks as whole words, longest
// first (so a path holding the user's name is masked whole).
func (e *Environment) identifying() []string {
	var out []string
	add := func(v string) {
		if len(v) >= 4 && v != "local" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	add(e.Host.Address)
	if h, _, err := net.SplitHostPort(e.Host.Address); err == nil {
		add(h)
	}
	add(e.Host.User)
	add(strings.TrimRight(e.Path, "/"))
	add(e.Notify.Telegram.PublicChat)
	add(e.Notify.Telegram.LogChat)
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// replaceWord replaces each occurrence of w in s that is not part of a
// longer word (letters, digits, "_") with repl.
func replaceWord(s, w, repl string) string {
	if !strings.Contains(s, w) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, w)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + len(w)
		if wholeWord(s, w, i, j) {
			b.WriteString(s[:i])
			b.WriteString(repl)
		} else {
			b.WriteString(s[:j])
		}
		s = s[j:]
	}
}

// wholeWord reports whether w, found at s[i:j], is not part of a longer
// word. A value that starts or ends with a non-word character ("/opt/app",
// "-100123") needs no boundary on that side.
func wholeWord(s, w string, i, j int) bool {
	left := i == 0 || !isWordByte(s[i-1]) || !isWordByte(w[0])
	right := j == len(s) || !isWordByte(s[j]) || !isWordByte(w[len(w)-1])
	return left && right
}

// isWordByte reports whether c is a letter, a digit or "_".
func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
