// Package yamlconf decodes a YAML configuration strictly onto Go structs,
// expanding $VAR and ${VAR} references on the way as Docker Compose does, and reports every problem with
// the path and line of the field it concerns.
//
// It is the decoder behind deploy.Load, kept apart from the schema so that
// package deploy reads as what a configuration means, and this package as
// how a file becomes one. Its guarantees:
//
//   - Strict: a key the struct does not declare (by its yaml tag), a key
//     given twice and a value of the wrong kind are problems, never ignored.
//     A close misspelling is named ("did you mean …?").
//   - Every problem at once: decoding goes on after a problem, so a file with
//     five mistakes is reported in one run, each with its path
//     ("environments.production.health.backend.interval") and line.
//   - Bounded: YAML aliases (*name) are followed, but a document that
//     expands to more than MaxValues values ("billion laughs") is refused
//     with one problem instead of taking minutes and gigabytes.
//   - Variables: scalars go through Expand (Compose's template package:
//     $VAR, ${VAR:-default}, ${VAR:?message}, $$) before they are
//     converted; a variable that is not set is a problem naming it, never
//     its value.
//   - Shared blocks as in Compose files: merge keys (<<: *base,
//     <<: [*a, *b]) bring an anchor's keys under the mapping's own, and keys
//     starting with x- are ignored in every section, so x-common: &common
//     holds what environments share.
//
// Why not yaml.v3's KnownFields decoder: it stops at the first error, does
// not expand variables per scalar, has no bound on aliases and names Go
// types rather than the user's field paths.
package yamlconf
