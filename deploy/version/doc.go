// Package version names what blueshift deploys and where: release versions
// (Semantic Versioning 2.0.0 with a required "v" prefix), versions generated
// from the clock when none is given, deployment IDs, and the two colours of a
// blue-green deployment.
//
// Versions are validated as semver.org specifies: "v1.0.0" and
// "v1.0.1-hotfix-1" are valid; "1.0.0" (no v), "v01.0.0" (leading zero),
// "v1.0" (missing patch) and "latest" are not, and the error says why.
// Numeric parts may be arbitrarily large: they are compared as digit
// strings, never parsed into machine integers.
//
// A release version is also the image tag, so Parse refuses the valid
// semver that Docker cannot tag, before anything runs: build metadata
// ("v1.0.0+build.7": '+' is outside the tag rule
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, and semver ignores build metadata when
// ordering, so two builds would be one release) and versions longer than 128
// characters. The error names the rule and suggests the version without the
// metadata or with it as a pre-release ("v1.0.0-build.7"). Without this the
// mistake surfaced only when tagging the image, after the start notification
// and the GitHub deployment record. ParseSemver accepts every semver; records
// (UnmarshalText) are read with it, so a file written before the rule still
// loads.
//
// The seed pipeline's generated versions looked like "v2024.12.27-183050".
// That is not valid semver whenever the month, day or hour is below 10
// ("v2025.01.05-083050" has leading zeros), and being a pre-release it sorts
// before the plain release of the same day. Auto generates
// vYYYY.MMDD.HHMMSS with every part a plain integer instead
// ("v2025.105.83050" for 2025-01-05 08:30:50 UTC): always valid, and semver
// precedence orders such versions chronologically.
package version
