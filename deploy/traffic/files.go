package traffic

import (
	"bytes"
	"context"
	"errors"
	"io/fs"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// readHostFile returns the file at p on r's host; exists is false when
// there is no such file.
func readHostFile(ctx context.Context, r host.Runner, p string) (data []byte, exists bool, err error) {
	data, err = host.ReadFile(ctx, r, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// writeHostFileAtomic creates p's directory if needed (0755) and replaces p
// with data atomically, in one command (host.WriteFile).
func writeHostFileAtomic(ctx context.Context, r host.Runner, p string, data []byte, mode fs.FileMode) error {
	return host.WriteFile(ctx, r, p, bytes.NewReader(data), host.WriteOptions{Mode: mode, DirMode: 0o755})
}
