// Package version names what blueshift deploys and where: release versions
// (Semantic Versioning 2.0.0 with a required "v" prefix), versions generated
// from the clock when none is given, deployment IDs, and the two colours of a
// blue-green deployment.
//
// Versions are validated exactly as semver.org specifies: "v1.0.0",
// "v1.0.1-hotfix-1" and "v1.0.0-rc.1+build.5" are valid; "1.0.0" (no v),
// "v01.0.0" (leading zero), "v1.0" (missing patch) and "latest" are not, and
// the error says why. Numeric parts may be arbitrarily large: they are
// compared as digit strings, never parsed into machine integers.
//
// The seed pipeline's generated versions looked like "v2024.12.27-183050".
// That is not valid semver whenever the month, day or hour is below 10
// ("v2025.01.05-083050" has leading zeros), and being a pre-release it sorts
// before the plain release of the same day. Auto generates
// vYYYY.MMDD.HHMMSS with every part a plain integer instead
// ("v2025.105.83050" for 2025-01-05 08:30:50 UTC): always valid, and semver
// precedence orders such versions chronologically.
package version
