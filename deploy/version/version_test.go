package version

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The regular-expression test list from the semver.org FAQ, each with "v"
// prepended.
var semverOrgValid = []string{
	"0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid",
	"1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1",
	"1.0.0-alpha0.valid", "1.0.0-alpha.0valid",
	"1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "1.0.0-rc.1+build.1",
	"2.0.0-rc.1+build.123", "1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123", "1.0.0",
	"2.0.0", "1.1.7", "2.0.0+build.1848", "2.0.1-alpha.1227", "1.0.0-alpha+beta",
	"1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "1.2.3----R-S.12.9.1--.12+meta",
	"1.2.3----RC-SNAPSHOT.12.9.1--.12", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
	"99999999999999999999999.999999999999999999.99999999999999999", "1.0.0-0A.is.legal",
}

var semverOrgInvalid = []string{
	"1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid",
	"-invalid+invalid", "-invalid.01", "alpha", "alpha.beta", "alpha.beta.1", "alpha.1",
	"alpha+beta", "alpha_beta", "alpha.", "alpha..", "beta", "1.0.0-alpha_beta", "-alpha.",
	"1.0.0-alpha..", "1.0.0-alpha..1", "1.0.0-alpha...1", "1.0.0-alpha....1",
	"1.0.0-alpha.....1", "1.0.0-alpha......1", "1.0.0-alpha.......1", "01.1.1", "1.01.1",
	"1.1.01", "1.2", "1.2.3.DEV", "1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
	"1.2-RC-SNAPSHOT", "-1.0.3-gamma+b7718", "+justmeta", "9.8.7+meta+meta",
	"9.8.7-whatever+meta+meta",
	"99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1--------------------------------..12",
}

// TestParseSemverOrgValid: every valid semver is accepted by ParseSemver;
// Parse accepts those that are also Docker tags and refuses the rest (build
// metadata) naming the tag rule.
func TestParseSemverOrgValid(t *testing.T) {
	for _, s := range append(semverOrgValid, "1.0.1", "1.0.0-rc1", "1.0.1-hotfix-1", "1.0.1-hotfix") {
		s = "v" + s
		v, err := ParseSemver(s)
		if err != nil {
			t.Errorf("ParseSemver(%q): %v", s, err)
			continue
		}
		if got := v.String(); got != s {
			t.Errorf("ParseSemver(%q).String() = %q", s, got)
		}
		v, err = Parse(s)
		switch {
		case strings.Contains(s, "+"):
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "build metadata") || !strings.Contains(err.Error(), DockerTagRule) {
				t.Errorf("Parse(%q) = %v, %v: want build metadata refused naming %s", s, v, err, DockerTagRule)
			}
		case err != nil:
			t.Errorf("Parse(%q): %v", s, err)
		case v.String() != s:
			t.Errorf("Parse(%q).String() = %q", s, v)
		}
	}
}

// TestParseRefusesWhatDockerCannotTag: on 239a55e "v1.0.0+build.7" and a
// 129-character version passed Parse, and a deployment failed only at the
// image tag, after the start notification and the GitHub deployment record.
func TestParseRefusesWhatDockerCannotTag(t *testing.T) {
	long := "v1.0.0-" + strings.Repeat("a", 122) // 129 characters
	for _, tc := range []struct{ in, want string }{
		{"v1.0.0+build.7", `version "v1.0.0+build.7": build metadata "+build.7" is not allowed: the version is the image tag, and a Docker tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (no '+'); use v1.0.0, or v1.0.0-build.7 for a pre-release`},
		{"v1.0.0-rc.1+sha.5114f85", `version "v1.0.0-rc.1+sha.5114f85": build metadata "+sha.5114f85" is not allowed: the version is the image tag, and a Docker tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (no '+'); use v1.0.0-rc.1, or v1.0.0-rc.1-sha.5114f85 for a pre-release`},
		{long, `version "` + long + `": 129 characters: the version is the image tag, and a Docker tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (at most 128 characters)`},
	} {
		_, err := Parse(tc.in)
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error:\n got %v\nwant %s", tc.in, err, tc.want)
		}
		if _, err := ParseSemver(tc.in); err != nil {
			t.Errorf("ParseSemver(%q): %v (valid semver)", tc.in, err)
		}
	}
	if v, err := Parse(long[:128]); err != nil || v.String() != long[:128] {
		t.Errorf("Parse of a 128-character version = %v, %v", v, err)
	}
	tag := regexp.MustCompile(`^` + DockerTagRule + `$`)
	for _, s := range append(semverOrgValid, "1.0.1-hotfix-1") {
		if v, err := Parse("v" + s); err == nil && !tag.MatchString(v.String()) {
			t.Errorf("Parse(%q) accepted a version that is not a Docker tag", "v"+s)
		}
	}
	// Records written before the rule still read.
	var v Version
	if err := v.UnmarshalText([]byte("v1.0.0+build.7")); err != nil || v.Build() != "build.7" {
		t.Errorf("UnmarshalText of a recorded build-metadata version = %v, %v", v, err)
	}
}

func TestParseSemverOrgInvalid(t *testing.T) {
	for _, s := range semverOrgInvalid {
		s = "v" + s
		v, err := Parse(s)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", s, v)
			continue
		}
		var pe *ParseError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &pe) || pe.Input != s {
			t.Errorf("Parse(%q) error %v: want *ParseError wrapping ErrInvalid", s, err)
		}
		if !strings.HasPrefix(err.Error(), `version "`+s+`": `) {
			t.Errorf("Parse(%q) error %q does not name the input", s, err)
		}
	}
}

func TestParseMessages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v01.0.0", `version "v01.0.0": major version has a leading zero ("01")`},
		{"v1.01.0", `version "v1.01.0": minor version has a leading zero ("01")`},
		{"v1.0.00", `version "v1.0.00": patch version has a leading zero ("00")`},
		{"1.0.0", `version "1.0.0": add the v prefix (v1.0.0)`},
		{"1.0.0-rc1", `version "1.0.0-rc1": add the v prefix (v1.0.0-rc1)`},
		{"V1.0.0", `version "V1.0.0": use a lowercase v prefix (v1.0.0)`},
		{"latest", `version "latest": not a semantic version; want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.0.0 or v1.0.1-rc.1`},
		{"", `version "": empty; want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.0.0 or v1.0.1-rc.1`},
		{"v1", `version "v1": missing minor version; want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.0.0 or v1.0.1-rc.1`},
		{"v1.2", `version "v1.2": missing patch version; want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.0.0 or v1.0.1-rc.1`},
		{"v1.2.3.4", `version "v1.2.3.4": "1.2.3.4" has more than three dot-separated numbers; want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.0.0 or v1.0.1-rc.1`},
		{"v1.0.0-", `version "v1.0.0-": pre-release is empty after its separator`},
		{"v1.0.0-alpha..1", `version "v1.0.0-alpha..1": pre-release identifier 2 of "alpha..1" is empty`},
		{"v1.2.3-0123", `version "v1.2.3-0123": pre-release identifier "0123" has a leading zero`},
		{"v1.0.0-alpha_beta", `version "v1.0.0-alpha_beta": pre-release identifier "alpha_beta" has invalid character '_' (allowed: 0-9 A-Z a-z -)`},
		{"v9.8.7+meta+meta", `version "v9.8.7+meta+meta": build metadata identifier "meta+meta" has invalid character '+' (allowed: 0-9 A-Z a-z -)`},
		{"vx.1.2", `version "vx.1.2": major version "x" is not a number; want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.0.0 or v1.0.1-rc.1`},
		{"v1.0.1 ", `version "v1.0.1 ": has leading or trailing whitespace; did you mean "v1.0.1"?`},
		{"auto\n", `version "auto\n": has leading or trailing whitespace; did you mean "auto"?`},
	} {
		_, err := Parse(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) error:\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestAccessors(t *testing.T) {
	v, _ := ParseSemver("v1.2.3-rc.1+build.5")
	if v.Core() != "v1.2.3" || v.Prerelease() != "rc.1" || v.Build() != "build.5" || v.IsZero() {
		t.Errorf("accessors of %v: core %q pre %q build %q", v, v.Core(), v.Prerelease(), v.Build())
	}
	var zero Version
	if !zero.IsZero() || zero.String() != "" || Compare(zero, MustParse("v0.0.0")) >= 0 {
		t.Errorf("zero Version: IsZero %v String %q", zero.IsZero(), zero.String())
	}
}

func TestComparePrecedenceChain(t *testing.T) {
	// semver.org §11, extended with releases and huge numbers.
	chain := []string{
		"v0.9.99", "v1.0.0-0.3.7", "v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta", "v1.0.0-beta",
		"v1.0.0-beta.2", "v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0", "v1.0.1-hotfix-1", "v1.0.1",
		"v1.1.0", "v1.10.0", "v2.0.0", "v10.0.0", "v18446744073709551615.0.0",
		"v18446744073709551616.0.0", "v99999999999999999999999.0.0",
	}
	for i := range chain {
		for j := range chain {
			a, b := MustParse(chain[i]), MustParse(chain[j])
			want := sign(i - j)
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	a, _ := ParseSemver("v1.0.0+a")
	b, _ := ParseSemver("v1.0.0+b")
	if Compare(a, b) != 0 {
		t.Error("build metadata must not affect precedence")
	}
}

func TestAutoEveryDayOfALeapYear(t *testing.T) {
	times := []time.Duration{0, time.Second, 59 * time.Second, time.Minute, 8*time.Hour + 30*time.Minute + 50*time.Second,
		9*time.Hour + 59*time.Minute + 59*time.Second, 10 * time.Hour, 18*time.Hour + 30*time.Minute + 50*time.Second,
		23*time.Hour + 59*time.Minute + 59*time.Second}
	var prev Version
	var prevT time.Time
	for day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() == 2024 || day.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); day = day.AddDate(0, 0, 1) {
		for _, d := range times {
			at := day.Add(d)
			v := Auto(at)
			p, err := Parse(v.String())
			if err != nil {
				t.Fatalf("Auto(%s) = %s does not parse: %v", at, v, err)
			}
			if Compare(p, v) != 0 || p.String() != v.String() {
				t.Fatalf("Auto(%s) = %s re-parses as %s", at, v, p)
			}
			if !prev.IsZero() && Compare(prev, v) >= 0 {
				t.Fatalf("Auto(%s) = %s does not sort after Auto(%s) = %s", at, v, prevT, prev)
			}
			prev, prevT = v, at
		}
	}
}

func TestAutoEverySecondOfADay(t *testing.T) {
	start := time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)
	prev := Auto(start.Add(-time.Second))
	for s := 0; s < 86400; s++ {
		v := Auto(start.Add(time.Duration(s) * time.Second))
		if _, err := Parse(v.String()); err != nil {
			t.Fatal(err)
		}
		if Compare(prev, v) >= 0 {
			t.Fatalf("%s does not sort after %s", v, prev)
		}
		prev = v
	}
}

func TestAutoExamples(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2025, 1, 5, 8, 30, 50, 0, time.UTC), "v2025.105.83050"},
		{time.Date(2024, 12, 27, 18, 30, 50, 0, time.UTC), "v2024.1227.183050"},
		{time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "v2024.229.0"},
		// Converted to UTC first: 01:00 in UTC+3 is 22:00 the day before.
		{time.Date(2025, 1, 1, 1, 0, 0, 0, time.FixedZone("MSK", 3*3600)), "v2024.1231.220000"},
	} {
		if got := Auto(tc.at).String(); got != tc.want {
			t.Errorf("Auto(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestDeploymentID(t *testing.T) {
	at := time.Date(2024, 12, 27, 21, 30, 50, 0, time.FixedZone("MSK", 3*3600))
	for _, tc := range []struct{ env, v, want string }{
		{"production", "v1.0.0", "prod-v1.0.0-20241227_183050"},
		{"staging", "v1.0.1-rc.1", "staging-v1.0.1-rc.1-20241227_183050"},
		{"eu-west", "v2.0.0", "eu-west-v2.0.0-20241227_183050"},
	} {
		if got := DeploymentID(tc.env, MustParse(tc.v), at); got != tc.want {
			t.Errorf("DeploymentID(%q, %s) = %q, want %q", tc.env, tc.v, got, tc.want)
		}
	}
}

func TestColour(t *testing.T) {
	if Blue.Other() != Green || Green.Other() != Blue || Colour("").Other() != Blue {
		t.Error("Other is wrong")
	}
	for in, want := range map[string]Colour{"blue": Blue, "green": Green, " Green ": Green, "BLUE": Blue} {
		c, err := ParseColour(in)
		if err != nil || c != want || c.String() != string(want) || !c.Valid() {
			t.Errorf("ParseColour(%q) = %q, %v", in, c, err)
		}
	}
	for _, in := range []string{"", "red", "blu"} {
		_, err := ParseColour(in)
		if !errors.Is(err, ErrInvalidColour) || !strings.Contains(err.Error(), "want blue or green") {
			t.Errorf("ParseColour(%q) error = %v", in, err)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	type state struct {
		Version Version `json:"version"`
		Colour  Colour  `json:"colour"`
	}
	rec, err := ParseSemver("v1.0.1-hotfix-1+b.2") // a record from before the tag rule
	if err != nil {
		t.Fatal(err)
	}
	in := state{rec, Green}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"version":"v1.0.1-hotfix-1+b.2","colour":"green"}` {
		t.Errorf("json = %s", b)
	}
	var out state
	if err := json.Unmarshal(b, &out); err != nil || out.Version.String() != in.Version.String() || out.Colour != Green {
		t.Errorf("round trip = %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"version":"1.0.0"}`), &out); !errors.Is(err, ErrInvalid) {
		t.Errorf("unmarshal of an invalid version: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range semverOrgValid {
		f.Add("v" + s)
	}
	for _, s := range semverOrgInvalid {
		f.Add("v" + s)
	}
	f.Add("latest")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error does not wrap ErrInvalid: %v", s, err)
			}
			return
		}
		if v.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, v.String())
		}
		if Compare(v, v) != 0 {
			t.Fatalf("Compare(%s, itself) != 0", s)
		}
	})
}
