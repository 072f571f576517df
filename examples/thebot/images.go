package thebot

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// app holds the application's sources: app/<image>/ is v1.0.0, and
// app/<version>/<image>/ holds the files a later release adds or changes.
//
//go:embed all:app
var app embed.FS

// Images the stack runs, by the name Build builds them under.
const (
	BackendImage  = "backend"  // Django + gunicorn; also the worker and beat
	FrontendImage = "frontend" // static site, nginx on port 3000
	DBImage       = "postgres" // PostgreSQL 15, tag DBTag
	RedisImage    = "redis"    // Redis, tag RedisTag
	DBTag         = "15"
	RedisTag      = "7"
)

// LocalRepository prefixes the images Build builds before tagging them
// for the registry: they stay on the engine as the build cache (removing
// the registry's tags, as tests do, keeps them, so the next Build takes
// seconds).
const LocalRepository = "thebot-build"

// taglines are the frontend's second line per release (the changed text
// a test can tell the releases apart by).
var taglines = map[string]string{
	FirstVersion:  "Your tutoring assistant.",
	SecondVersion: "Your tutoring assistant, now with notes on every task.",
}

// Images are the references Build made, all in the registry.
type Images struct {
	// Base is the base image; BaseBuilt says Build made it (else it was
	// cached).
	Base      string
	BaseBuilt bool
	// Backend and Frontend are the application images per version.
	Backend, Frontend map[string]string
	// DB and Redis are the shared services' images.
	DB, Redis string
	// Registry is the registry they were pushed to.
	Registry *Registry
	// BaseTime, BuildTime and PushTime are how long each step took.
	BaseTime, BuildTime, PushTime time.Duration
}

// Build makes every image of the stack and pushes it, like a CI job, to
// the workspace's registry (started if needed): the base image from
// Debian packages (skipped when the engine has it, see BaseHash), then
// backend and frontend for each of Releases, and the db and redis images,
// with `docker build` FROM the base.
func Build(ctx context.Context, o Options) (*Images, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	r := host.NewLocal()
	im := &Images{Backend: map[string]string{}, Frontend: map[string]string{}}
	start := time.Now()
	im.Base, im.BaseBuilt, err = EnsureBase(ctx, r, func(s string) { o.progress("%s", s) })
	if err != nil {
		return nil, err
	}
	im.BaseTime = time.Since(start)
	if im.Registry, err = StartRegistry(ctx, o); err != nil {
		return nil, err
	}
	reg := im.Registry
	type job struct {
		ref, name, tag string
		rel            Release
	}
	var jobs []job
	for _, rel := range Releases() {
		v := rel.Version
		im.Backend[v] = reg.Repository(BackendImage) + ":" + v
		im.Frontend[v] = reg.Repository(FrontendImage) + ":" + v
		jobs = append(jobs, job{im.Backend[v], BackendImage, v, rel}, job{im.Frontend[v], FrontendImage, v, rel})
	}
	im.DB = reg.Repository(DBImage) + ":" + DBTag
	im.Redis = reg.Repository(RedisImage) + ":" + RedisTag
	jobs = append(jobs, job{im.DB, "db", DBTag, Release{}}, job{im.Redis, "redis", RedisTag, Release{}})

	start = time.Now()
	for _, j := range jobs {
		o.progress("building %s", j.ref)
		dir, err := buildContext(j.name, j.rel)
		if err != nil {
			return nil, err
		}
		local := LocalRepository + "/" + j.name + ":" + j.tag
		err = r.Run(ctx, host.Cmd{Argv: buildArgv(im.Base, local, j.rel, dir), Env: []string{"DOCKER_BUILDKIT=0"}})
		os.RemoveAll(dir)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", local, err)
		}
		if err := r.Run(ctx, host.Cmd{Argv: []string{"docker", "tag", local, j.ref}}); err != nil {
			return nil, fmt.Errorf("tag %s: %w", j.ref, err)
		}
	}
	im.BuildTime = time.Since(start)

	start = time.Now()
	cfg := filepath.Join(o.Dir, "docker-config")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	login := host.Cmd{Argv: loginArgv(cfg, reg), Stdin: strings.NewReader(reg.Password)}
	if err := r.Run(ctx, login); err != nil {
		return nil, fmt.Errorf("push: docker login %s: %w", reg.Addr, err)
	}
	for _, j := range jobs {
		o.progress("pushing %s", j.ref)
		if err := r.Run(ctx, host.Cmd{Argv: pushArgv(cfg, j.ref)}); err != nil {
			return nil, fmt.Errorf("push %s: %w", j.ref, err)
		}
	}
	im.PushTime = time.Since(start)
	return im, nil
}

// buildArgv is the `docker build` of one image of release rel (the zero
// Release for the shared services' images) FROM base (legacy builder: it
// takes a local base image without asking a registry).
func buildArgv(base, ref string, rel Release, dir string) []string {
	argv := []string{"docker", "build", "--quiet", "--build-arg", "BASE=" + base}
	if rel.Version != "" {
		argv = append(argv, "--build-arg", "VERSION="+rel.Version)
	}
	if rel.Fault != "" {
		argv = append(argv, "--build-arg", "FAULT="+rel.Fault)
	}
	return append(argv, "--label", "org.blueshift.thebot=1", "-t", ref, dir)
}

// loginArgv logs in to the registry with the password on stdin, storing
// the credentials in the workspace's own docker config (the user's
// ~/.docker/config.json is left alone).
func loginArgv(configDir string, reg *Registry) []string {
	return []string{"docker", "--config", configDir, "login", "--username", reg.Username, "--password-stdin", reg.Addr}
}

// pushArgv pushes ref with the workspace's docker config.
func pushArgv(configDir, ref string) []string {
	return []string{"docker", "--config", configDir, "push", "--quiet", ref}
}

// buildContext writes the build context of image name of release rel
// (the zero Release for the shared services' images) into a new temporary
// directory (see writeTree).
func buildContext(name string, rel Release) (string, error) {
	dir, err := os.MkdirTemp("", "thebot-"+name+"-")
	if err != nil {
		return "", err
	}
	if err := writeTree(dir, name, rel); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// writeTree writes the files of image name of release rel into dir:
// app/<name>/, then app/<files>/<name>/ over it; the frontend's index.html
// gets the version and the tagline of its files.
func writeTree(dir, name string, rel Release) error {
	version, files := rel.Version, rel.files()
	layers := []string{path.Join("app", name)}
	if files != "" && files != FirstVersion {
		layers = append(layers, path.Join("app", files, name))
	}
	for _, layer := range layers {
		if _, err := fs.Stat(app, layer); err != nil {
			continue // this release changes nothing in this image
		}
		err := fs.WalkDir(app, layer, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, layer), "/")
			dst := filepath.Join(dir, filepath.FromSlash(rel))
			if d.IsDir() {
				return os.MkdirAll(dst, 0o755)
			}
			b, err := app.ReadFile(p)
			if err != nil {
				return err
			}
			if name == FrontendImage && rel == "site/index.html" {
				s := strings.ReplaceAll(string(b), "{{VERSION}}", version)
				b = []byte(strings.ReplaceAll(s, "{{TAGLINE}}", taglines[files]))
			}
			return os.WriteFile(dst, b, 0o644)
		})
		if err != nil {
			return fmt.Errorf("files of %s %s: %w", name, version, err)
		}
	}
	return nil
}
