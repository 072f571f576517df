package traffic

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path"

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

// writeHostFileAtomic creates p's directory if needed and replaces p with
// data atomically (host.WriteFileAtomic).
func writeHostFileAtomic(ctx context.Context, r host.Runner, p string, data []byte, mode fs.FileMode) error {
	if err := host.MkdirAll(ctx, r, path.Dir(p), 0o755); err != nil {
		return err
	}
	return host.WriteFileAtomic(ctx, r, p, bytes.NewReader(data), mode)
}
