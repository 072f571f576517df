package thebot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// BaseRepository is the repository of the base image; its tag is the
// first 12 hex digits of BaseHash.
const BaseRepository = "thebot-base"

// Suite is the Debian release the base image is made of.
const Suite = "bookworm"

// BasePackages are the Debian packages of the base image, beyond minbase:
// the backend's (Django with the admin's jQuery, gunicorn, Celery, the
// PostgreSQL and Redis clients, `python` for the seed's commands), the
// database's (PostgreSQL 15), Redis, and nginx-light for the frontend.
var BasePackages = []string{
	"python3-django", "libjs-jquery", "gunicorn", "python3-celery",
	"python3-psycopg2", "python3-redis", "python-is-python3",
	"postgresql-15", "redis-server", "nginx-light", "ca-certificates",
}

// mmdebstrapArgv is the command writing the base root filesystem to out as
// a tar: minbase plus BasePackages, without documentation, man pages and
// translations, and without the cluster Debian's postgresql package
// creates on installation (the db image runs initdb itself).
func mmdebstrapArgv(out string) []string {
	return []string{
		"mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar",
		"--include=" + strings.Join(BasePackages, ","),
		"--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-include=/usr/share/doc/*/copyright",
		"--dpkgopt=path-exclude=/usr/share/locale/*",
		`--customize-hook=rm -rf "$1"/var/lib/postgresql/15/main "$1"/etc/postgresql/15/main "$1"/var/log/*.log`,
		Suite, out,
	}
}

// importArgv is the command turning the root filesystem tar into image ref.
func importArgv(tar, ref, hash string) []string {
	return []string{
		"docker", "import",
		"--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
		"--change", "LABEL org.blueshift.thebot.base=" + hash,
		"--message", "thebot base: mmdebstrap " + Suite + " + " + strings.Join(BasePackages, " "),
		tar, ref,
	}
}

// BaseHash names the base image's content: a SHA-256 of the command that
// builds it (suite, packages, options, hooks; the output path left out).
// Changing any of them makes a new image; nothing else does.
func BaseHash() string {
	argv := mmdebstrapArgv("")
	sum := sha256.Sum256([]byte(strings.Join(argv[:len(argv)-1], "\x00")))
	return hex.EncodeToString(sum[:])
}

// BaseImage is the base image's reference: thebot-base:<hash12>.
func BaseImage() string { return BaseRepository + ":" + BaseHash()[:12] }

// EnsureBase builds the base image unless the engine already has it, and
// returns its reference and whether it was built.
func EnsureBase(ctx context.Context, r host.Runner, progress func(string)) (string, bool, error) {
	ref := BaseImage()
	if imageExists(ctx, r, ref) {
		return ref, false, nil
	}
	if err := r.Run(ctx, host.Cmd{Argv: []string{"mmdebstrap", "--version"}}); err != nil {
		return "", false, fmt.Errorf("base image %s: mmdebstrap is not installed (run examples/thebot/setup.sh): %w", ref, err)
	}
	tmp, err := os.MkdirTemp("", "thebot-base-")
	if err != nil {
		return "", false, fmt.Errorf("base image %s: %w", ref, err)
	}
	defer os.RemoveAll(tmp)
	tar := filepath.Join(tmp, "rootfs.tar")
	start := time.Now()
	progress(fmt.Sprintf("building base image %s from Debian %s packages with mmdebstrap (once; about 2 minutes)", ref, Suite))
	if err := r.Run(ctx, host.Cmd{Argv: mmdebstrapArgv(tar)}); err != nil {
		return "", false, fmt.Errorf("base image %s: mmdebstrap: %w", ref, err)
	}
	if err := r.Run(ctx, host.Cmd{Argv: importArgv(tar, ref, BaseHash())}); err != nil {
		return "", false, fmt.Errorf("base image %s: docker import: %w", ref, err)
	}
	progress(fmt.Sprintf("base image %s built in %s", ref, time.Since(start).Round(time.Second)))
	return ref, true, nil
}

// imageExists reports whether the local engine has image ref.
func imageExists(ctx context.Context, r host.Runner, ref string) bool {
	return r.Run(ctx, host.Cmd{Argv: []string{"docker", "image", "inspect", "--format", "{{.Id}}", ref}}) == nil
}
