package yamlconf

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"A": "alpha", "EMPTY": ""}[k] }
	for in, want := range map[string]string{
		"plain":          "plain",
		"${A}":           "alpha",
		"x-${A}-y":       "x-alpha-y",
		"${EMPTY:-dflt}": "dflt",
		"${UNSET:-}":     "",
		"${UNSET:-a:-b}": "a:-b",
		"$$":             "$",
		"$${A}":          "${A}",
		"cost $5":        "cost $5",
		"trailing $":     "trailing $",
		"${A}${A}":       "alphaalpha",
		"${UNSET:-${A}}": "${A}", // no nesting: the default "${A" ends at the first }
	} {
		got, err := Expand(in, getenv)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"${UNSET}": "environment variable UNSET is not set",
		"${EMPTY}": "environment variable EMPTY is not set",
		"${1A}":    `"1A" is not a variable name`,
		"${}":      `"" is not a variable name`,
		"${A":      "unterminated",
	} {
		_, err := Expand(in, getenv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Expand(%q) error = %v, want %q", in, err, want)
		}
	}
}
