//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on directory dir, waiting for another
// holder; the returned function releases it (so does the process ending).
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s for compiling the magefiles: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s for compiling the magefiles: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
