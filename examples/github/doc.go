// Package githubworkflows holds GitHub Actions workflows that run blueshift
// from an application's repository: deploy-production.yml (releases, manual
// runs and successful CI on main), deploy-staging.yml (every push to main)
// and rollback.yml. Copy them to .github/workflows/ and adjust the
// public URLs and the name of your CI workflow.
//
// The package has no code. Its tests lint these files and blueshift's own
// .github/workflows with actionlint (as a library) and check the properties
// that keep a deployment safe: deployments never overlap (concurrency),
// secrets reach steps only through env:, user input never reaches a run:
// script as a ${{ }} expression, host keys are verified, and the JSON report
// is uploaded even when the deployment fails.
package githubworkflows
