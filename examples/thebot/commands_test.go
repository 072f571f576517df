package thebot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueshift-deploy/blueshift/deploy"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// TestBaseImageIsNamedByItsBuildCommand pins the mmdebstrap and import
// commands and that the cache key follows them: the tag changes when the
// package list does, and not with the output path.
func TestBaseImageIsNamedByItsBuildCommand(t *testing.T) {
	argv := mmdebstrapArgv("/tmp/x.tar")
	assert.Equal(t, []string{"mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar"}, argv[:4])
	assert.Contains(t, argv, "--include="+strings.Join(BasePackages, ","))
	assert.Equal(t, []string{Suite, "/tmp/x.tar"}, argv[len(argv)-2:])
	assert.Contains(t, BasePackages, "libjs-jquery", "collectstatic fails without the admin's jQuery")

	h := BaseHash()
	assert.Len(t, h, 64)
	assert.Equal(t, BaseRepository+":"+h[:12], BaseImage())
	saved := BasePackages
	t.Cleanup(func() { BasePackages = saved })
	BasePackages = append(append([]string{}, saved...), "curl")
	assert.NotEqual(t, h, BaseHash(), "a new package must make a new base image")

	assert.Equal(t, []string{"docker", "import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
		"--change", "LABEL org.blueshift.thebot.base=abc", "--message", "thebot base: mmdebstrap " + Suite + " + " + strings.Join(BasePackages, " "),
		"/tmp/x.tar", "thebot-base:abc"}, importArgv("/tmp/x.tar", "thebot-base:abc", "abc"))
}

// TestBuildAndPushCommands pins the docker commands of Build: the password
// travels on stdin, never on the command line, and the workspace's own
// docker config is used.
func TestBuildAndPushCommands(t *testing.T) {
	assert.Equal(t, []string{"docker", "build", "--quiet", "--build-arg", "BASE=thebot-base:1", "--build-arg", "VERSION=v1.0.1",
		"--label", "org.blueshift.thebot=1", "-t", "thebot-build/backend:v1.0.1", "/ctx"},
		buildArgv("thebot-base:1", "thebot-build/backend:v1.0.1", Release{Version: "v1.0.1"}, "/ctx"))
	assert.Equal(t, []string{"docker", "build", "--quiet", "--build-arg", "BASE=thebot-base:1", "--build-arg", "VERSION=" + BreaksLaterVersion,
		"--build-arg", "FAULT=fail-after:40", "--label", "org.blueshift.thebot=1", "-t", "thebot-build/backend:" + BreaksLaterVersion, "/ctx"},
		buildArgv("thebot-base:1", "thebot-build/backend:"+BreaksLaterVersion, Variants[2], "/ctx"))
	assert.Equal(t, []string{"docker", "build", "--quiet", "--build-arg", "BASE=thebot-base:1", "--label", "org.blueshift.thebot=1", "-t", "thebot-build/db:15", "/ctx"},
		buildArgv("thebot-base:1", "thebot-build/db:15", Release{}, "/ctx"), "the shared services' images have no version")
	reg := &Registry{Addr: "127.0.0.1:15000", Username: RegistryUser, Password: "s3cret"}
	login := loginArgv("/w/docker-config", reg)
	assert.Equal(t, []string{"docker", "--config", "/w/docker-config", "login", "--username", RegistryUser, "--password-stdin", "127.0.0.1:15000"}, login)
	assert.NotContains(t, strings.Join(login, " "), "s3cret")
	assert.Equal(t, []string{"docker", "--config", "/w/docker-config", "push", "--quiet", "127.0.0.1:15000/thebot/backend:v1.0.1"},
		pushArgv("/w/docker-config", reg.Repository(BackendImage)+":v1.0.1"))
}

// TestBuildContextOverlaysTheRelease checks that v1.0.1's context holds
// v1.0.0's files plus its own (the expand migration, the new static file)
// and that the frontend says its version.
func TestBuildContextOverlaysTheRelease(t *testing.T) {
	dir, err := buildContext(BackendImage, Release{Version: SecondVersion})
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	for _, f := range []string{"manage.py", "core/migrations/0001_initial.py", "core/migrations/0002_taskrun_note.py", "core/static/core/notes.css"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	models, err := os.ReadFile(filepath.Join(dir, "core/models.py"))
	require.NoError(t, err)
	assert.Contains(t, string(models), "note = models.CharField(max_length=200, null=True")

	old, err := buildContext(BackendImage, Release{Version: FirstVersion})
	require.NoError(t, err)
	defer os.RemoveAll(old)
	assert.NoFileExists(t, filepath.Join(old, "core/migrations/0002_taskrun_note.py"))

	front, err := buildContext(FrontendImage, Release{Version: SecondVersion})
	require.NoError(t, err)
	defer os.RemoveAll(front)
	index, err := os.ReadFile(filepath.Join(front, "site/index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(index), "version "+SecondVersion)
	assert.Contains(t, string(index), taglines[SecondVersion])
	assert.NotContains(t, string(index), "{{")

	// A variant is built from its Files (v1.0.1's migration is there) and
	// says its own version.
	variant, err := buildContext(FrontendImage, Variants[1])
	require.NoError(t, err)
	defer os.RemoveAll(variant)
	index, err = os.ReadFile(filepath.Join(variant, "site/index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(index), "version "+BrokenFrontendVersion)
	assert.Contains(t, string(index), taglines[SecondVersion])
	vback, err := buildContext(BackendImage, Variants[0])
	require.NoError(t, err)
	defer os.RemoveAll(vback)
	assert.FileExists(t, filepath.Join(vback, "core/migrations/0002_taskrun_note.py"))
}

// TestReleasesAreDistinctVersions: every release Build makes is a version
// blueshift accepts, each tag is made once, and a variant starts from a
// working release's files.
func TestReleasesAreDistinctVersions(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Releases() {
		_, err := version.Parse(r.Version)
		assert.NoError(t, err, r.Version)
		assert.False(t, seen[r.Version], "%s made twice", r.Version)
		seen[r.Version] = true
		assert.Contains(t, Versions, r.files(), "%s's files", r.Version)
	}
	assert.Len(t, seen, len(Versions)+len(Variants))
}

// TestDeployConfigIsValid loads thebot's deploy.yml with blueshift's own
// loader, with and without the workarounds: both are valid configurations
// (the failures without them happen during a deployment).
func TestDeployConfigIsValid(t *testing.T) {
	w, err := Open(Options{Dir: t.TempDir()})
	require.NoError(t, err)
	im := &Images{Backend: map[string]string{FirstVersion: "r/b:v1.0.0"}, Frontend: map[string]string{FirstVersion: "r/f:v1.0.0"}, DB: "r/db:15", Redis: "r/redis:7"}
	require.NoError(t, w.WriteFiles(im))
	getenv := func(k string) string {
		if k == RegistryPasswordEnv {
			return "pw"
		}
		return ""
	}
	for name, wa := range map[string]Workarounds{"none": {}, "all": AllWorkarounds} {
		t.Run(name, func(t *testing.T) {
			path, err := w.WriteDeployConfig(filepath.Join(w.Dir, "srv"), "5s", wa)
			require.NoError(t, err)
			cfg, err := deploy.Load(path, getenv)
			require.NoError(t, err)
			env, err := cfg.Env(DefaultEnvironment)
			require.NoError(t, err)
			assert.Equal(t, []string{"db", "redis"}, env.Services.Shared)
			assert.Equal(t, 18102, env.Ports["backend"].Green)
			if name == "none" {
				assert.Equal(t, "frontend", env.Smoke.Endpoints[len(env.Smoke.Endpoints)-1].Service, "/ is the frontend's")
			}
			if name == "all" {
				assert.Empty(t, env.Proxy.VersionHeader)
				assert.Equal(t, "thebot", env.Backup.Postgres.User)
				for _, ep := range env.Smoke.Endpoints {
					assert.NotEqual(t, "/", ep.Path)
				}
			}
		})
	}
}
