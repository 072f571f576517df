// Package load sends HTTP requests at a fixed rate and counts what comes
// back: failures (transport errors and statuses other than 2xx and 3xx),
// statuses, the colour that answered (from a response header), latency
// percentiles and the window in which failures happened.
//
// It proves that a blue-green switch drops nothing: Start a Generator
// before the deployment, Stop it after, and check Stats.Failed. The load is
// open-loop: a slow server does not slow the sender down, so an outage shows
// up as failures rather than as fewer requests.
package load
