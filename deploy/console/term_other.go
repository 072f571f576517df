//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package console

import "os"

// isTerminal falls back to "is a character device" where termios is not
// available.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// terminalWidth is unknown here.
func terminalWidth(*os.File) int { return 0 }
