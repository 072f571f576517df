package yamlconf

import (
	"errors"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"A": "alpha", "EMPTY": ""}[k] }
	for in, want := range map[string]string{
		"plain":           "plain",
		"${A}":            "alpha",
		"$A":              "alpha",
		"$A/x":            "alpha/x",
		"x-${A}-y":        "x-alpha-y",
		"${EMPTY:-dflt}":  "dflt",
		"${EMPTY-dflt}":   "dflt", // empty counts as unset: getenv cannot tell them apart
		"${UNSET-dflt}":   "dflt",
		"${UNSET:-}":      "",
		"${UNSET:-a:-b}":  "a:-b",
		"${A:-dflt}":      "alpha",
		"${A:?needed}":    "alpha",
		"${A?needed}":     "alpha",
		"${A:+set}":       "set",
		"${A+set}":        "set",
		"${UNSET:+set}":   "",
		"${UNSET:-$$}":    "$",
		"$$":              "$",
		"$${A}":           "${A}",
		"$$A":             "$A",
		"cost $5":         "cost $5",
		"trailing $":      "trailing $",
		"${A}${A}":        "alphaalpha",
		"${UNSET:-x}/$A":  "x/alpha",
		"${UNSET:-x}${A}": "xalpha",
	} {
		got, err := Expand(in, getenv)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"${UNSET}":             "environment variable UNSET is not set (referenced as ${UNSET}; set it, or write ${UNSET:-default} to allow a default)",
		"$UNSET":               "environment variable UNSET is not set (referenced as $UNSET; set it, or write ${UNSET:-default} to allow a default)",
		"${EMPTY}":             "environment variable EMPTY is not set",
		"${UNSET:?say why}":    "required variable UNSET is missing a value: say why",
		"${EMPTY:?}":           "required variable EMPTY is missing a value",
		"${UNSET?say why}":     "required variable UNSET is missing a value: say why",
		"${1A}":                `Invalid template: "${1A}": a variable name is letters, digits and _`,
		"${}":                  `Invalid template: "${}"`,
		"${A":                  `unterminated ${ in "${A": close it with }`,
		"${UNSET:-${A}}":       "${UNSET:-${A}: a default or message cannot hold another variable",
		"${UNSET:?need $HOME}": "a default or message cannot hold another variable",
	} {
		_, err := Expand(in, getenv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Expand(%q) error = %v, want %q", in, err, want)
		}
	}
}

// TestExpandErrorsAreUnsetVariables: the ways of saying "this variable is
// required" all match ErrUnsetVariable, a bad template does not.
func TestExpandErrorsAreUnsetVariables(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, in := range []string{"${X}", "$X", "${X:?why}", "${X?why}"} {
		if _, err := Expand(in, getenv); !errors.Is(err, ErrUnsetVariable) {
			t.Errorf("Expand(%q) = %v, want ErrUnsetVariable", in, err)
		}
	}
	for _, in := range []string{"${1X}", "${X", "${X:-${Y}}"} {
		if _, err := Expand(in, getenv); err == nil || errors.Is(err, ErrUnsetVariable) {
			t.Errorf("Expand(%q) = %v, want an error other than ErrUnsetVariable", in, err)
		}
	}
}

// TestExpandNeverShowsValues: an error names variables, never the values
// of the others in the same string (which may be secrets).
func TestExpandNeverShowsValues(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"TOKEN": "s3cret-value"}[k] }
	for _, in := range []string{"${TOKEN}:${UNSET}", "$TOKEN/${UNSET:?gone}", "${TOKEN}${1X}", "${TOKEN}${X:-${Y}}"} {
		_, err := Expand(in, getenv)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Expand(%q) error = %v: want an error without the value", in, err)
		}
	}
}
