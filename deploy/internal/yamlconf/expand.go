package yamlconf

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
)

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// IsVarName reports whether s can name an environment variable: letters,
// digits and "_", not starting with a digit.
func IsVarName(s string) bool { return varName.MatchString(s) }

// reference matches one variable reference with the groups of Compose's
// template.DefaultPattern (escaped "$$", named "$VAR", braced "${VAR…}",
// invalid "${"), except that a braced reference ends at its first "}": a
// default or message may not hold another reference (see Expand), so each
// reference of a value is replaced on its own.
var reference = regexp.MustCompile(`\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](?P<arg>[^}]*))?)}|(?P<invalid>)))`)

// Expand interpolates s as Docker Compose does, with Compose's template
// package: $VAR and ${VAR}; ${VAR:-default} and ${VAR-default};
// ${VAR:?message} and ${VAR?message} (an error with the message when VAR
// is missing); ${VAR:+alt} and ${VAR+alt}; "$$" is a literal "$"; a "$"
// not followed by a name or "{" is kept.
//
// Two differences from Compose keep deploy.yml strict:
//   - $VAR or ${VAR} whose variable is unset or empty is an error naming it
//     (never its value) that matches ErrUnsetVariable, where Compose
//     warns and substitutes ""; ${VAR:-} allows it to be empty. The
//     :?-forms' errors match ErrUnsetVariable too.
//   - getenv cannot tell an empty variable from an unset one, so an empty
//     variable counts as unset: ${VAR-default} behaves as ${VAR:-default}.
//
// A default or message holding another reference (${A:-${B}}) is refused,
// as Compose would substitute "" for an unset B without an error.
func Expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	lookup := func(name string) (string, bool) {
		v := getenv(name)
		return v, v != ""
	}
	out, err := template.SubstituteWithOptions(s, lookup,
		template.WithPattern(reference), template.WithoutLogging, template.WithReplacementFunction(replace))
	var invalid *template.InvalidTemplateError
	if errors.As(err, &invalid) {
		return "", invalidTemplate(s, invalid)
	}
	return out, err
}

// replace resolves one reference matched by reference, refusing unset
// variables that have no default.
func replace(ref string, mapping template.Mapping, cfg *template.Config) (string, error) {
	m := reference.FindStringSubmatch(ref)
	if m == nil { // cannot happen: SubstituteWithOptions found ref with reference
		return template.DefaultReplacementFunc(ref, mapping, cfg)
	}
	for _, inner := range reference.FindAllStringSubmatch(m[reference.SubexpIndex("arg")], -1) {
		if inner[reference.SubexpIndex("escaped")] == "" {
			return "", fmt.Errorf("%s: a default or message cannot hold another variable in deploy.yml: write the value itself (or $$ for a literal $)", ref)
		}
	}
	val, applied, err := template.DefaultReplacementAppliedFunc(ref, mapping, cfg)
	var missing *template.MissingRequiredError
	if errors.As(err, &missing) {
		return "", &kindError{kind: ErrUnsetVariable, msg: missing.Error()}
	}
	if err != nil || applied {
		return val, err
	}
	name := m[reference.SubexpIndex("named")] + m[reference.SubexpIndex("braced")]
	return "", &kindError{kind: ErrUnsetVariable, msg: fmt.Sprintf(
		"environment variable %s is not set (referenced as %s; set it, or write ${%s:-default} to allow a default)", name, ref, name)}
}

// invalidTemplate says what is wrong with the first "${" of s that does not
// start a reference, keeping Compose's wording for names that are not
// names.
func invalidTemplate(s string, err *template.InvalidTemplateError) error {
	for _, loc := range reference.FindAllStringSubmatchIndex(s, -1) {
		if loc[2*reference.SubexpIndex("invalid")] < 0 {
			continue
		}
		if !strings.Contains(s[loc[0]:], "}") {
			return fmt.Errorf("unterminated ${ in %q: close it with }", s)
		}
		break
	}
	return fmt.Errorf("%w: a variable name is letters, digits and _, not starting with a digit; write $$ for a literal $", err)
}
