// Package health answers "is it up?" for a deployment: before traffic moves
// to the next colour, after it moved, and for the minutes after that.
//
// A Probe checks one thing once: an HTTP(S) endpoint (HTTPProbe), a TCP port
// (TCPProbe), PostgreSQL (PostgresProbe, connect and SELECT 1), Redis
// (RedisProbe, PING), a command inside a container (ExecProbe) or a
// container's own Docker healthcheck (ContainerHealthProbe), both through
// the Docker wrapper's container.Docker (or a fake). Every network
// probe dials through a host.Dialer, so the same probe checks a service on the
// local machine or on a server reached over SSH.
//
// Around a probe:
//
//   - Wait retries it under a Policy (BackendPolicy: 30 attempts 10s apart
//     within 5 minutes; FrontendPolicy: 10 attempts 5s apart) and returns as
//     soon as the policy is met or can no longer be met. Its *WaitError
//     carries every attempt.
//   - Suite runs smoke checks against a set of endpoints concurrently
//     (DefaultEndpoints are the seed pipeline's five) and renders a table.
//   - Monitor watches a probe for a window after the switch and fails the
//     moment its error budget is exceeded (ErrBudgetExceeded), otherwise
//     returns latency percentiles and a status histogram.
//
// The package is silent: nothing is printed or logged; progress arrives
// through the onAttempt and OnTick callbacks, and results render themselves
// with WriteTable. Secrets (database and Redis passwords) never appear in a
// probe's name, its errors or its observations.
package health
