package backup

import (
	"context"
	"errors"
	"fmt"

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
// dir (or its nearest existing parent), in one remote command
// (host.ProbeResources).
func FreeSpace(ctx context.Context, r host.Runner, dir string) (int64, error) {
	res, err := host.ProbeResources(ctx, r, dir)
	if err != nil {
		return 0, err
	}
	if res.FreeErr != nil {
		return 0, res.FreeErr
	}
	return int64(res.Free), nil
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
	return p.preflight(ctx, margin, func() (int64, error) { return FreeSpace(ctx, p.Runner, p.BackupsDir()) })
}

// PreflightFree is Preflight with the backups dir's free space already
// asked (host.ProbeResources on BackupsDir, which a deployment's preflight
// runs once for memory and disk together: one remote command fewer);
// freeErr is that question's error, reported where Preflight reports its
// own (after the tools and the estimate).
func (p *Plan) PreflightFree(ctx context.Context, margin float64, free int64, freeErr error) (estimate int64, err error) {
	estimate, _, err = p.preflight(ctx, margin, func() (int64, error) { return free, freeErr })
	return estimate, err
}

func (p *Plan) preflight(ctx context.Context, margin float64, freeSpace func() (int64, error)) (estimate, free int64, err error) {
	if err := p.validate(); err != nil {
		return 0, 0, err
	}
	estimate, err = p.toolsAndEstimate(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("backup preflight: %w", err)
	}
	free, err = freeSpace()
	if err != nil {
		return estimate, 0, fmt.Errorf("backup preflight: %w", err)
	}
	if err := CheckSpace(free, estimate, margin); err != nil {
		return estimate, free, fmt.Errorf("backup preflight: %s: %w", p.BackupsDir(), err)
	}
	return estimate, free, nil
}

// toolsAndEstimate is CheckTools then Estimate, the two asked of a source
// that can (Prober) in one remote command; a tools failure is reported
// before any estimate failure, as when they were asked apart.
func (p *Plan) toolsAndEstimate(ctx context.Context) (int64, error) {
	var tools, sizes []error
	var total int64
	for _, s := range p.Sources {
		if pr, ok := s.(Prober); ok {
			n, toolErr, err := pr.Probe(ctx, p.Runner)
			if toolErr != nil {
				tools = append(tools, fmt.Errorf("source %s: %w", s.Name(), toolErr))
			} else if err != nil {
				sizes = append(sizes, fmt.Errorf("source %s: %w", s.Name(), err))
			}
			total += n
			continue
		}
		if tc, ok := s.(ToolChecker); ok {
			if err := tc.CheckTools(ctx, p.Runner); err != nil {
				tools = append(tools, fmt.Errorf("source %s: %w", s.Name(), err))
				continue
			}
		}
		if e, ok := s.(Estimator); ok {
			n, err := e.Estimate(ctx, p.Runner)
			if err != nil {
				sizes = append(sizes, fmt.Errorf("source %s: %w", s.Name(), err))
			}
			total += n
		}
	}
	if len(tools) > 0 {
		return 0, errors.Join(tools...)
	}
	if len(sizes) > 0 {
		return 0, sizes[0]
	}
	return total, nil
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
