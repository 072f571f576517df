// Package githubtest is a local server speaking GitHub's REST wire format
// for deployments and commit statuses, for tests of code that records deployments with
// notify.GitHub: it creates, lists and adds statuses to deployments with
// GitHub's JSON shapes and records every request.
package githubtest
