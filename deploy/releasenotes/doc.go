// Package releasenotes builds the notes of a release from git history: the
// commits between the previous release and the one deployed, grouped by
// conventional-commit type (Features, Fixes, Security, Performance, Other),
// breaking changes called out, merge commits and noise left out.
//
// git runs through a host.Runner, so notes can be built on the machine that
// deploys or on the server; the command line is data ([LogArgv]) and the
// parsing is a pure function ([Parse]). [Notes.Markdown] renders for GitHub
// and email, [Notes.Short] a trimmed form for chat messages.
//
// Package releasenotes does not import package deploy.
package releasenotes
