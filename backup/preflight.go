package backup

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// ErrInsufficientSpace is returned when a backup would not fit.
var ErrInsufficientSpace = errors.New("not enough free space for the backup")

// SpaceError carries the numbers behind ErrInsufficientSpace.
type SpaceError struct {
	Free, Need int64
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("%v: %s free, about %s needed: free space, lower the retention (backup:prune) or move the backups dir",
		ErrInsufficientSpace, humanBytes(e.Free), humanBytes(e.Need))
}

func (e *SpaceError) Unwrap() error { return ErrInsufficientSpace }

// CheckSpace returns a *SpaceError when estimate plus margin (a fraction:
// 0.2 adds 20%) exceeds free.
func CheckSpace(free, estimate int64, margin float64) error {
	need := estimate + int64(float64(estimate)*margin)
	if need > free {
		return &SpaceError{Free: free, Need: need}
	}
	return nil
}

// FreeSpace returns the bytes available on the host's filesystem holding
// dir (or its nearest existing parent).
func FreeSpace(ctx context.Context, r host.Runner, dir string) (int64, error) {
	p := dir
	for {
		ok, err := host.Exists(ctx, r, p)
		if err != nil {
			return 0, err
		}
		if ok || p == "/" || p == "." {
			break
		}
		p = path.Dir(p)
	}
	free, err := host.FreeDisk(ctx, r, p)
	if err != nil {
		return 0, err
	}
	return int64(free), nil
}

// CheckTools asks every source that can (ToolChecker) whether its programs
// run where they must.
func (p *Plan) CheckTools(ctx context.Context) error {
	var errs []error
	for _, s := range p.Sources {
		if tc, ok := s.(ToolChecker); ok {
			if err := tc.CheckTools(ctx, p.Runner); err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", s.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Estimate sums the sizes the sources (Estimator) expect to write; sources
// without an estimate count as zero. It also returns each one.
func (p *Plan) Estimate(ctx context.Context) (int64, map[string]int64, error) {
	var total int64
	each := map[string]int64{}
	for _, s := range p.Sources {
		if e, ok := s.(Estimator); ok {
			n, err := e.Estimate(ctx, p.Runner)
			if err != nil {
				return 0, nil, fmt.Errorf("source %s: %w", s.Name(), err)
			}
			each[s.Name()] = n
			total += n
		}
	}
	return total, each, nil
}

// Preflight is what a deployment checks before its backup: tools present,
// and the estimated size plus margin fits in the free space of the backups
// dir. It returns the estimate and the free space.
func (p *Plan) Preflight(ctx context.Context, margin float64) (estimate, free int64, err error) {
	if err := p.validate(); err != nil {
		return 0, 0, err
	}
	if err := p.CheckTools(ctx); err != nil {
		return 0, 0, fmt.Errorf("backup preflight: %w", err)
	}
	estimate, _, err = p.Estimate(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("backup preflight: %w", err)
	}
	free, err = FreeSpace(ctx, p.Runner, p.BackupsDir())
	if err != nil {
		return estimate, 0, fmt.Errorf("backup preflight: %w", err)
	}
	if err := CheckSpace(free, estimate, margin); err != nil {
		return estimate, free, fmt.Errorf("backup preflight: %s: %w", p.BackupsDir(), err)
	}
	return estimate, free, nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
