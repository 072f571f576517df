// Package host reaches one machine, locally or over SSH, in one way: run a
// command given as argv, dial a tcp or unix address as seen from that machine,
// and talk to its Docker Engine through that dialer.
//
// Every other blueshift package reaches a server only through the small
// interfaces here (Runner, Dialer, Host), so a probe, a backup or a traffic
// switch written once works on the local machine and on a production server
// alike, and tests can hand a phase a fake.
//
// Two implementations: Local (child processes, net.Dialer) and SSH (one
// golang.org/x/crypto/ssh connection; a session per command, a
// direct-tcpip or direct-streamlocal channel per dial). A conformance suite
// runs the same table against both.
//
// SSH in short:
//
//   - Host keys are always verified, against known_hosts (default
//     ~/.ssh/known_hosts) or against PinnedHostKey; unknown and changed keys
//     fail with ErrUnknownHostKey / ErrHostKeyMismatch and an error text
//     saying how to fix it. The host key algorithms offered are those of the
//     keys known for the host, so a known_hosts holding only the ed25519 line
//     works against a server that also has ECDSA and RSA keys.
//   - Commands are quoted once (ShellQuote) and run by the login shell as
//     "cd DIR && exec env K=V... ARGV"; the login shell must be POSIX-like.
//     Env never goes through sshd's AcceptEnv.
//   - Cancelling a command's context kills its remote process group, also
//     for root logins, where OpenSSH ignores the signal request.
//   - Keepalives detect a dead link; Run and Dial then fail with an error
//     wrapping ErrConnectionLost.
//   - Dialled conns support deadlines and CloseWrite, which x/crypto's own
//     channel conns do not (go-redis and pgx rely on deadlines).
//
// Files are handled by functions over any Runner (WriteFile,
// WriteFileAtomic, ReadFile, Exists, MkdirAll, Remove, RemoveAll, FreeDisk,
// Memory), built from coreutils command lines that tests pin. A write
// (with its directory and an optional condition on the file's current
// contents) and a read are one remote command each: over SSH every command
// is a session, a round trip plus the login shell's start-up.
package host
