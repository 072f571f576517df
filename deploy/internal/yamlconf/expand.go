package yamlconf

import (
	"fmt"
	"regexp"
	"strings"
)

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// IsVarName reports whether s can name an environment variable: letters,
// digits and "_", not starting with a digit.
func IsVarName(s string) bool { return varName.MatchString(s) }

// Expand replaces ${VAR} and ${VAR:-default} using getenv; "$$" is a
// literal "$" and any other "$" is kept. A variable that is empty or unset
// without a default is an error naming it (never its value) that matches
// ErrUnsetVariable.
func Expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q: close it with }", s)
		}
		val, err := lookup(s[i+2:i+2+end], getenv)
		if err != nil {
			return "", err
		}
		b.WriteString(val)
		i += 2 + end
	}
	return b.String(), nil
}

// lookup resolves the inside of one ${…}: NAME or NAME:-default.
func lookup(expr string, getenv func(string) string) (string, error) {
	name, def, hasDef := strings.Cut(expr, ":-")
	if !varName.MatchString(name) {
		return "", fmt.Errorf("${%s}: %q is not a variable name (letters, digits, _; write $$ for a literal $)", expr, name)
	}
	val := getenv(name)
	if val != "" {
		return val, nil
	}
	if !hasDef {
		return "", &kindError{kind: ErrUnsetVariable, msg: fmt.Sprintf(
			"environment variable %s is not set (referenced as ${%s}; set it, or write ${%s:-default} to allow a default)", name, name, name)}
	}
	return def, nil
}
