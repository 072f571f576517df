// Package console is what a person sees while blueshift deploys: a live
// phase timeline on a terminal, one timestamped line per event in CI logs,
// a final summary, and a machine-readable JSON report.
//
// It is frontend-side library code: the Mage targets plug a Console into
// deploy.Deployment.Observe, print Summary when the pipeline returns and
// write the JSON report for CI.
//
//	c := console.New(os.Stderr, console.Options{})
//	defer c.Close()
//	d.Observe = c.Observe
//	err := pipeline.Run(ctx, d)
//	c.Summary(d)
//	console.WriteReportFile("deploy-report.json", d)
//
// On a terminal (TTY mode) every running phase has a line with a braille
// spinner, its elapsed time and its latest progress message; a finished
// phase's line is replaced by ✓ (ok), ✗ (failed), ↶ (undone) or – (skipped)
// with its duration. Warnings (⚠) and multi-line progress such as tables
// are printed above the live lines. Elsewhere (plain mode) each event is one
// line prefixed with the time since the first event, without ANSI codes:
//
//	[  12.3s] health    attempt 3: 200 OK
//
// The JSON report's field names are stable; see Report.
package console
