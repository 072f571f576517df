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
// golang.org/x/crypto/ssh connection; commands through one shared remote
// shell or a session each, a direct-tcpip or direct-streamlocal channel
// per dial). A conformance suite runs the same table against Local, SSH
// with the shared shell, and SSH with a session per command.
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
//   - Commands go through one shared shell (SSHConfig.Sessions "shared",
//     the default), described below, or a session each ("per-command",
//     also BLUESHIFT_SSH_SESSION=per-command).
//   - Keepalives detect a dead link; Run and Dial then fail with an error
//     wrapping ErrConnectionLost.
//   - Dialled conns support deadlines and CloseWrite, which x/crypto's own
//     channel conns do not (go-redis and pgx rely on deadlines).
//
// # The shared shell
//
// A new SSH session costs a round trip to open and a start of the user's
// login shell, which blueshift does not control (a pyenv or nvm line in
// .bashrc makes it half a second). A deployment runs a few hundred
// commands, so SSH keeps one session open whose login shell runs
// "exec /bin/sh -c DRIVER": the start-up is paid once, and each command
// then costs one round trip and a fork. The framing, chosen to need only
// POSIX sh and coreutils' head on the server:
//
//   - Request: one line "MARKER LENGTH LINE" on the session's stdin, then
//     LENGTH bytes of the command's stdin ("-": none, the command reads
//     /dev/null). LINE is the same command line a session of its own would
//     run (cd, env, argv quoted once with ShellQuote), with newlines spelled
//     as a shell variable so it fits one line. The driver runs it in a
//     subshell fed by "head -c LENGTH"; what the command leaves unread is
//     drained afterwards, so the next request starts where it should.
//     Stdin of any size and content works, binary and empty included; the
//     length must be known up front, so only in-memory readers
//     (*bytes.Reader, *strings.Reader, *bytes.Buffer) are framed.
//   - Response: the command's stdout and stderr pass through the session's
//     own stdout and stderr (SSH keeps them apart), live; then the driver
//     writes "MARKER STATUS" on stdout and "MARKER" on stderr. MARKER is 128
//     random bits fresh for every command and never exported to it, so
//     output cannot end a frame early; only bytes that could begin the
//     marker are held back while reading.
//   - At start the driver greets with its PID and whether head -c reads
//     exactly what it is asked (GNU coreutils does; a head that reads ahead
//     would eat the next request, so commands with stdin then get sessions
//     of their own). A server where the driver does not answer (no /bin/sh,
//     a login shell that is not POSIX-like) gets a session per command.
//   - Cancelling a command kills the shell's process group (the driver and
//     everything it started) and closes the session; the next command
//     opens a new shell. Anything that leaves the stream out of step, or a
//     shell that dies, fails the command with ErrConnectionLost and is
//     handled the same way. A command that left a background process
//     writing to its stdout could mix that output into a later command's;
//     a command killed by a signal leaves the shell's note of it
//     ("Terminated") on its stderr.
//
// Which commands use it: the shell runs one command at a time. A command
// runs through it when its stdin is nil or in memory and the shell is not
// busy; otherwise it gets a session of its own, exactly as before. So a
// caller that streams stdin (the deploy lock's heartbeat pipe, a restore
// fed from a reader) or runs concurrently with another command gets its
// own session without asking, and a long command with live output (docker
// compose pulling) streams through the shell while other commands meanwhile
// use sessions of their own. SSH.SessionsOpened tells how many sessions a
// host opened; Counting counts the commands run through any Runner (and,
// per phase, those of a deployment: deploy.CountRemote).
//
// Files are handled by functions over any Runner (WriteFile,
// WriteFileAtomic, ReadFile, Exists, MkdirAll, Remove, RemoveAll, FreeDisk,
// Memory), built from coreutils command lines that tests pin. A write
// (with its directory and an optional condition on the file's current
// contents) and a read are one remote command each: over SSH every command
// is a session, a round trip plus the login shell's start-up.
package host
