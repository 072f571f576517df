package targets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	bsversion "github.com/blueshift-deploy/blueshift/deploy/version"
)

// Config holds targets about deploy.yml.
type Config mg.Namespace

// Check validates deploy.yml ($DEPLOY_CONFIG) and prints it resolved, secrets masked.
//
// Variables are expanded and defaults applied, so the output is exactly
// what a deployment would use; every secret prints as "***". An invalid
// file exits 1 listing every problem with its field path.
func (Config) Check(ctx context.Context) error {
	c, err := loadConfig()
	if err != nil {
		return fail(err)
	}
	y, err := c.MaskedYAML()
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "# %s is valid: app %s, environments %s\n%s",
		c.File, c.App, strings.Join(c.EnvNames(), ", "), y)
	return nil
}

// Version holds targets about release versions.
type Version mg.Namespace

// Next prints the version a deployment given none would get now (vYYYY.MMDD.HHMMSS, UTC).
func (Version) Next() error {
	fmt.Fprintln(stdout, bsversion.Auto(time.Now()))
	return nil
}

// Check validates VERSION as a release version (semver with a v prefix, like v1.0.1).
func (Version) Check(v string) error {
	p, err := bsversion.Parse(v)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, p)
	return nil
}
