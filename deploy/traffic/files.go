package traffic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// The upstream file is read and written through the host's Runner with
// plain POSIX tools, so it works on any host blueshift reaches.

// readFileArgv, existsArgv, ... are the commands the file helpers run.
func existsArgv(p string) []string   { return []string{"test", "-e", p} }
func readFileArgv(p string) []string { return []string{"cat", p} }
func mkdirArgv(dir string) []string  { return []string{"mkdir", "-p", dir} }
func writeTempArgv(tmp string) []string {
	return []string{"dd", "of=" + tmp, "status=none"}
}
func chmodArgv(mode uint32, p string) []string {
	return []string{"chmod", strconv.FormatUint(uint64(mode), 8), p}
}
func renameArgv(from, to string) []string { return []string{"mv", "-f", from, to} }
func removeArgv(p string) []string        { return []string{"rm", "-f", p} }

// readHostFile returns the file at p on r's host; exists is false when
// there is no such file.
func readHostFile(ctx context.Context, r host.Runner, p string) (data []byte, exists bool, err error) {
	if err := r.Run(ctx, host.Cmd{Argv: existsArgv(p)}); err != nil {
		var exit *host.ExitError
		if errors.As(err, &exit) && exit.Code == 1 {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("check %s: %w", p, err)
	}
	out, err := host.Output(ctx, r, readFileArgv(p)...)
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", p, err)
	}
	return out, true, nil
}

// writeHostFileAtomic writes data to p on r's host: into a temporary file
// beside it, then renamed over p, so readers see the old or the new file,
// never a partial one.
func writeHostFileAtomic(ctx context.Context, r host.Runner, p string, data []byte, mode uint32) error {
	tmp := path.Join(path.Dir(p), fmt.Sprintf(".%s.blueshift-%d.tmp", path.Base(p), time.Now().UnixNano()))
	steps := []host.Cmd{
		{Argv: mkdirArgv(path.Dir(p))},
		{Argv: writeTempArgv(tmp), Stdin: bytes.NewReader(data)},
		{Argv: chmodArgv(mode, tmp)},
		{Argv: renameArgv(tmp, p)},
	}
	for i, c := range steps {
		if err := r.Run(ctx, c); err != nil {
			if i > 0 {
				_ = r.Run(context.WithoutCancel(ctx), host.Cmd{Argv: removeArgv(tmp)})
			}
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
