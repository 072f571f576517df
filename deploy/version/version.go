package version

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid version")

// ParseError says why a string is not a valid version.
type ParseError struct {
	Input  string // the string given to Parse
	Reason string // what is wrong with it, e.g. "major version has a leading zero"
}

func (e *ParseError) Error() string { return fmt.Sprintf("version %q: %s", e.Input, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// Version is a valid Semantic Versioning 2.0.0 version written with a "v"
// prefix; one from Parse is also a valid Docker tag. The zero Version is not valid (IsZero reports it); obtain one from
// Parse, MustParse or Auto.
type Version struct {
	major, minor, patch string   // decimal digit strings without leading zeros
	pre                 []string // pre-release identifiers, nil when none
	build               []string // build metadata identifiers, nil when none
}

const grammar = "want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.0.0 or v1.0.1-rc.1"

// DockerTagRule is the pattern every image tag must match; a release
// version is used as the image tag, so it must match too.
const DockerTagRule = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"

// maxTagLen is the longest Docker tag: 128 characters.
const maxTagLen = 128

// Parse validates s as a release version: a semantic version with a
// required "v" prefix ("v1.0.0", "v1.0.0-rc1", "v1.0.1-hotfix-1") that is
// also a valid Docker tag, because the version becomes the image tag. Build
// metadata ("v1.0.0+build.7") is valid semver but is refused: '+' is not
// allowed in a Docker tag (and semver ignores it when ordering versions, so
// two builds would be the same release). So is a version longer than 128
// characters. The error is a *ParseError wrapping ErrInvalid that names the
// problem; for these two it names the Docker tag rule (DockerTagRule).
func Parse(s string) (Version, error) {
	v, err := ParseSemver(s)
	if err != nil {
		return v, err
	}
	fail := func(format string, args ...any) (Version, error) {
		return Version{}, &ParseError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	if len(v.build) > 0 {
		return fail("build metadata %q is not allowed: the version is the image tag, and a Docker tag must match %s (no '+'); use %s, or %s-%s for a pre-release",
			"+"+v.Build(), DockerTagRule, v.withoutBuild(), v.withoutBuild(), v.Build())
	}
	if len(s) > maxTagLen {
		return fail("%d characters: the version is the image tag, and a Docker tag must match %s (at most %d characters)", len(s), DockerTagRule, maxTagLen)
	}
	return v, nil
}

// ParseSemver validates s as any semantic version with a required "v"
// prefix, build metadata and any length included ("v1.0.0+build.7"). It is
// what UnmarshalText reads records with; versions given to deploy go through
// Parse. The error is a *ParseError wrapping ErrInvalid that names the
// problem.
func ParseSemver(s string) (Version, error) {
	fail := func(format string, args ...any) (Version, error) {
		return Version{}, &ParseError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return fail("empty; %s", grammar)
	case strings.TrimSpace(s) != s && strings.TrimSpace(s) != "":
		return fail("has leading or trailing whitespace; did you mean %q?", strings.TrimSpace(s))
	case s[0] == 'V':
		return fail("use a lowercase v prefix (v%s)", s[1:])
	case s[0] != 'v':
		if _, err := parse(s); err == nil {
			return fail("add the v prefix (v%s)", s)
		}
		return fail("not a semantic version; %s", grammar)
	}
	v, err := parse(s[1:])
	if err != nil {
		return fail("%s", err.Error())
	}
	return v, nil
}

// withoutBuild is v without its build metadata.
func (v Version) withoutBuild() string {
	v.build = nil
	return v.String()
}

// MustParse is Parse for constants known to be valid; it panics otherwise.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// parse parses a version without its "v" prefix.
func parse(s string) (Version, error) {
	var v Version
	rest := s
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		ids, err := identifiers("build metadata", rest[i+1:], false)
		if err != nil {
			return v, err
		}
		v.build, rest = ids, rest[:i]
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		ids, err := identifiers("pre-release", rest[i+1:], true)
		if err != nil {
			return v, err
		}
		v.pre, rest = ids, rest[:i]
	}
	parts := strings.Split(rest, ".")
	names := []string{"major", "minor", "patch"}
	if len(parts) > 3 {
		return v, fmt.Errorf("%q has more than three dot-separated numbers; %s", rest, grammar)
	}
	for i, name := range names {
		if i >= len(parts) {
			return v, fmt.Errorf("missing %s version; %s", name, grammar)
		}
		p := parts[i]
		switch {
		case p == "":
			return v, fmt.Errorf("%s version is empty; %s", name, grammar)
		case !allDigits(p):
			return v, fmt.Errorf("%s version %q is not a number; %s", name, p, grammar)
		case len(p) > 1 && p[0] == '0':
			return v, fmt.Errorf("%s version has a leading zero (%q)", name, p)
		}
	}
	v.major, v.minor, v.patch = parts[0], parts[1], parts[2]
	return v, nil
}

// identifiers splits and checks dot-separated pre-release or build
// identifiers. Numeric pre-release identifiers must not have leading zeros.
func identifiers(kind, s string, noLeadingZeros bool) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is empty after its separator", kind)
	}
	ids := strings.Split(s, ".")
	for i, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("%s identifier %d of %q is empty", kind, i+1, s)
		}
		for _, r := range id {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
				return nil, fmt.Errorf("%s identifier %q has invalid character %q (allowed: 0-9 A-Z a-z -)", kind, id, r)
			}
		}
		if noLeadingZeros && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return nil, fmt.Errorf("%s identifier %q has a leading zero", kind, id)
		}
	}
	return ids, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String returns the version as it was parsed, with its "v" prefix.
// The zero Version prints as "".
func (v Version) String() string {
	if v.IsZero() {
		return ""
	}
	s := "v" + v.major + "." + v.minor + "." + v.patch
	if len(v.pre) > 0 {
		s += "-" + strings.Join(v.pre, ".")
	}
	if len(v.build) > 0 {
		s += "+" + strings.Join(v.build, ".")
	}
	return s
}

// IsZero reports whether v is the zero Version (no version).
func (v Version) IsZero() bool { return v.major == "" }

// Core returns "vMAJOR.MINOR.PATCH" without pre-release or build metadata.
func (v Version) Core() string {
	if v.IsZero() {
		return ""
	}
	return "v" + v.major + "." + v.minor + "." + v.patch
}

// Prerelease returns the pre-release part without its "-" ("rc.1"), or "".
func (v Version) Prerelease() string { return strings.Join(v.pre, ".") }

// Build returns the build metadata without its "+" ("build.5"), or "".
func (v Version) Build() string { return strings.Join(v.build, ".") }

// MarshalText encodes v as its String, so Versions round-trip through JSON
// and YAML state files.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses text with ParseSemver, so a record holding a version
// Parse now refuses (build metadata, from before the Docker tag rule was
// checked) still reads; empty text gives the zero Version.
func (v *Version) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*v = Version{}
		return nil
	}
	p, err := ParseSemver(string(text))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Compare orders a and b by semver precedence: -1 if a < b, 0 if they have
// equal precedence, +1 if a > b. Build metadata is ignored, so
// Compare(v1.0.0+a, v1.0.0+b) == 0. The zero Version sorts before all others.
func Compare(a, b Version) int {
	for _, p := range [][2]string{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if c := compareNumeric(p[0], p[1]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1 // a release has higher precedence than its pre-releases
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		if c := compareIdentifier(a.pre[i], b.pre[i]); c != 0 {
			return c
		}
	}
	return sign(len(a.pre) - len(b.pre))
}

// compareNumeric compares decimal digit strings without leading zeros of
// any length: the longer one is larger, equal lengths compare bytewise.
func compareNumeric(a, b string) int {
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

// compareIdentifier compares pre-release identifiers: numeric ones
// numerically, numeric below alphanumeric, alphanumeric ones in ASCII order.
func compareIdentifier(a, b string) int {
	an, bn := allDigits(a), allDigits(b)
	switch {
	case an && bn:
		return compareNumeric(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// Auto returns a version generated from t in UTC, for deployments given no
// version: vYYYY.MMDD.HHMMSS with every part written as a plain integer,
// e.g. 2025-01-05 08:30:50 UTC gives "v2025.105.83050" and 2024-12-27
// 18:30:50 UTC gives "v2024.1227.183050". Unlike the seed's
// "v2025.01.05-083050" it is always valid semver (no leading zeros, no
// pre-release), and Compare orders such versions chronologically because
// MMDD and HHMMSS grow with the date and the time of day. Two calls within
// the same second give the same version. t must lie in years 1 to 9999.
func Auto(t time.Time) Version {
	t = t.UTC()
	return Version{
		major: fmt.Sprint(t.Year()),
		minor: fmt.Sprint(int(t.Month())*100 + t.Day()),
		patch: fmt.Sprint(t.Hour()*10000 + t.Minute()*100 + t.Second()),
	}
}

// DeploymentID names one deployment of version v to environment env started
// at t: "<env>-<version>-<YYYYMMDD_HHMMSS>" in UTC, with "production"
// shortened to "prod" as in the seed, e.g. "prod-v1.0.0-20241227_183050" or
// "staging-v1.0.1-rc.1-20250105_083050".
func DeploymentID(env string, v Version, t time.Time) string {
	if env == "production" {
		env = "prod"
	}
	return env + "-" + v.String() + "-" + t.UTC().Format("20060102_150405")
}
