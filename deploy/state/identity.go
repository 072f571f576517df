package state

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processAlive reports whether a process with this PID exists on this machine.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// machineID is this machine's identity beyond its hostname: systemd's
// /etc/machine-id (or D-Bus's copy); "" where neither exists.
func machineID() string {
	for _, f := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(f); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" {
				return id
			}
		}
	}
	return ""
}

// bootID identifies this boot of the machine (Linux); "" elsewhere. A PID
// recorded before a reboot means nothing after it.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// processStart is the start time of process pid in clock ticks since boot
// (field 22 of /proc/PID/stat), telling a process from a later one that
// reuses its PID; 0 when unknown.
func processStart(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// fields after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

// LocalHolderAlive reports whether l was taken by a process that still runs
// on this very machine: same hostname, machine ID and boot, and a live
// process with that PID and start time. A live local holder is never
// stale, whatever its host-side lock says.
func LocalHolderAlive(l Lock) bool {
	host, _ := os.Hostname()
	if l.PID <= 0 || l.MachineID == "" || l.Machine != host || l.MachineID != machineID() || l.BootID != bootID() {
		return false
	}
	if !processAlive(l.PID) {
		return false
	}
	return l.PIDStart == 0 || processStart(l.PID) == l.PIDStart
}
