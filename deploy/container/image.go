package container

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

// ScratchImage describes an image built FROM scratch around one static binary.
type ScratchImage struct {
	// Tag names the image ("blueshift-demo:v1.0.1"). Required.
	Tag string
	// Binary is the local path of a static binary (see BuildGoBinary). It is
	// copied to "/" + its base name with mode 0755. Required.
	Binary string
	// Files are extra files put in the image with mode 0644, keyed by their
	// path in the image ("etc/app.yml" or "/etc/app.yml").
	Files map[string][]byte
	// Entrypoint is the image's exec-form entrypoint; empty means the binary
	// alone (["/<base name of Binary>"]).
	Entrypoint []string
	// Env holds KEY=VALUE pairs baked into the image.
	Env []string
	// Labels are set on the image.
	Labels map[string]string
	// Healthcheck, if set, becomes the image's HEALTHCHECK.
	Healthcheck *HealthcheckSpec
	// ExposedPorts are documented ports: "8080" or "8080/tcp".
	ExposedPorts []string
}

// HealthcheckSpec is an image's HEALTHCHECK. A scratch image has no shell, so
// the test always runs in exec form.
type HealthcheckSpec struct {
	// Test is the command to run: an argv (["/app", "health"]), optionally
	// prefixed with "CMD" as in Docker's own config. ["NONE"] disables a
	// healthcheck. "CMD-SHELL" is rejected: scratch images have no shell.
	Test []string
	// Interval, Timeout and StartPeriod are Docker's; zero means Docker's
	// default (30s, 30s, 0s).
	Interval, Timeout, StartPeriod time.Duration
	// Retries is the number of consecutive failures that make a container
	// unhealthy; zero means Docker's default (3).
	Retries int
}

// ErrBuild is wrapped by errors the Docker daemon reported while building an
// image (a failing Dockerfile instruction, a missing file).
var ErrBuild = errors.New("image build failed")

// BuildScratchImage builds img on the Docker Engine cli (a *client.Client), FROM scratch,
// with the classic builder. It reads the build output to the end and returns
// any error the daemon reported there, wrapping ErrBuild.
func BuildScratchImage(ctx context.Context, cli Engine, img ScratchImage) error {
	buildCtx, err := scratchContext(img)
	if err != nil {
		return fmt.Errorf("build image %s: %w", img.Tag, err)
	}
	resp, err := cli.ImageBuild(ctx, bytes.NewReader(buildCtx), build.ImageBuildOptions{
		Tags:        []string{img.Tag},
		Labels:      img.Labels,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", img.Tag, err)
	}
	defer resp.Body.Close()
	if err := readStream(resp.Body, ErrBuild, nil); err != nil {
		return fmt.Errorf("build image %s: %w", img.Tag, err)
	}
	return nil
}

// streamMessage is one JSON message of the daemon's build and pull streams.
type streamMessage struct {
	Stream   string `json:"stream"`
	Status   string `json:"status"`
	ID       string `json:"id"`
	Progress *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readStream reads a daemon JSON message stream to its end, handing each
// message to fn (if not nil), and returns the first error reported in it,
// wrapping sentinel.
func readStream(r io.Reader, sentinel error, fn func(streamMessage)) error {
	dec := json.NewDecoder(r)
	var lastLines []string
	for {
		var m streamMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read daemon stream: %w", err)
		}
		if m.Error != "" || m.ErrorDetail != nil {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			if len(lastLines) > 0 {
				msg += " (after: " + strings.Join(lastLines, " | ") + ")"
			}
			return fmt.Errorf("%w: %s", sentinel, msg)
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			lastLines = append(lastLines, s)
			if len(lastLines) > 3 {
				lastLines = lastLines[1:]
			}
		}
		if fn != nil {
			fn(m)
		}
	}
}

// scratchContext returns the build context (a tar archive) for img.
func scratchContext(img ScratchImage) ([]byte, error) {
	if img.Tag == "" {
		return nil, errors.New("tag is required")
	}
	if img.Binary == "" {
		return nil, errors.New("binary is required (the path of a static binary)")
	}
	bin, err := os.ReadFile(img.Binary)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	dockerfile, err := scratchDockerfile(img)
	if err != nil {
		return nil, err
	}
	files := map[string]fileEntry{
		"rootfs/" + filepath.Base(img.Binary): {data: bin, mode: 0o755},
	}
	for p, data := range img.Files {
		clean := strings.TrimPrefix(path.Clean("/"+p), "/")
		if clean == "" || strings.HasSuffix(p, "/") {
			return nil, fmt.Errorf("files: %q: not a file path", p)
		}
		if _, dup := files["rootfs/"+clean]; dup {
			return nil, fmt.Errorf("files: %q: clashes with another file or the binary", p)
		}
		files["rootfs/"+clean] = fileEntry{data: data, mode: 0o644}
	}
	files["Dockerfile"] = fileEntry{data: dockerfile, mode: 0o644}
	return tarFiles(files)
}

type fileEntry struct {
	data []byte
	mode int64
}

// tarFiles writes files (and the directories holding them) into a tar
// archive in a stable order.
func tarFiles(files map[string]fileEntry) ([]byte, error) {
	names := make([]string, 0, len(files))
	dirs := map[string]bool{}
	for name := range files {
		names = append(names, name)
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d+"/"] = true
		}
	}
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		hdr := &tar.Header{Name: name, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if dirs[name] {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		} else {
			f := files[name]
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, f.mode, int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write build context: %w", err)
		}
		if !dirs[name] {
			if _, err := tw.Write(files[name].data); err != nil {
				return nil, fmt.Errorf("write build context: %w", err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	return buf.Bytes(), nil
}

// scratchDockerfile returns the Dockerfile for img; the build context holds
// the image's files under rootfs/.
func scratchDockerfile(img ScratchImage) ([]byte, error) {
	var b strings.Builder
	// Metadata first: an invalid value then fails before any layer exists,
	// leaving no intermediate images behind.
	b.WriteString("FROM scratch\n")
	for _, kv := range img.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n=\"'\\$") {
			return nil, fmt.Errorf("env: %q: want KEY=VALUE", kv)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("env: %s: value must not contain newlines", k)
		}
		fmt.Fprintf(&b, "ENV %s=%s\n", k, dockerfileQuote(v))
	}
	for _, p := range img.ExposedPorts {
		if p == "" || strings.ContainsAny(p, " \t\r\n") {
			return nil, fmt.Errorf("exposed ports: %q: want PORT or PORT/PROTO", p)
		}
		fmt.Fprintf(&b, "EXPOSE %s\n", p)
	}
	if hc := img.Healthcheck; hc != nil {
		line, err := healthcheckLine(*hc)
		if err != nil {
			return nil, err
		}
		b.WriteString(line)
	}
	b.WriteString("COPY rootfs/ /\n")
	entry := img.Entrypoint
	if len(entry) == 0 {
		entry = []string{"/" + filepath.Base(img.Binary)}
	}
	js, err := execForm(entry)
	if err != nil {
		return nil, fmt.Errorf("entrypoint: %w", err)
	}
	fmt.Fprintf(&b, "ENTRYPOINT %s\n", js)
	return []byte(b.String()), nil
}

func healthcheckLine(hc HealthcheckSpec) (string, error) {
	test := hc.Test
	if len(test) > 0 {
		switch test[0] {
		case "NONE":
			return "HEALTHCHECK NONE\n", nil
		case "CMD-SHELL":
			return "", errors.New("healthcheck: CMD-SHELL needs a shell, which a scratch image does not have: give an argv")
		case "CMD":
			test = test[1:]
		}
	}
	if len(test) == 0 {
		return "", errors.New("healthcheck: test is empty: give the argv to run (for example [\"/app\", \"health\"])")
	}
	if hc.Interval < 0 || hc.Timeout < 0 || hc.StartPeriod < 0 || hc.Retries < 0 {
		return "", errors.New("healthcheck: interval, timeout, start period and retries must be >= 0")
	}
	var opts []string
	if hc.Interval > 0 {
		opts = append(opts, "--interval="+hc.Interval.String())
	}
	if hc.Timeout > 0 {
		opts = append(opts, "--timeout="+hc.Timeout.String())
	}
	if hc.StartPeriod > 0 {
		opts = append(opts, "--start-period="+hc.StartPeriod.String())
	}
	if hc.Retries > 0 {
		opts = append(opts, fmt.Sprintf("--retries=%d", hc.Retries))
	}
	js, err := execForm(test)
	if err != nil {
		return "", fmt.Errorf("healthcheck: %w", err)
	}
	opts = append(opts, "CMD", js)
	return "HEALTHCHECK " + strings.Join(opts, " ") + "\n", nil
}

// execForm renders argv as a Dockerfile exec-form JSON array.
func execForm(argv []string) (string, error) {
	for _, a := range argv {
		if strings.ContainsAny(a, "\r\n") {
			return "", fmt.Errorf("%q: arguments must not contain newlines", a)
		}
	}
	js, err := json.Marshal(argv)
	if err != nil {
		return "", err
	}
	return string(js), nil
}

// dockerfileQuote quotes v for an ENV instruction: double quotes, with
// backslash, double quote and dollar escaped.
func dockerfileQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(v) + `"`
}

// GoBuildCmd is the command BuildGoBinary runs: a static (CGO_ENABLED=0),
// reproducible (-trimpath, no VCS stamp) linux build of the package in
// pkgDir, written to outPath. outPath should be absolute: the command runs in
// pkgDir.
func GoBuildCmd(pkgDir, outPath string) host.Cmd {
	return host.Cmd{
		Argv: []string{"go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", outPath, "."},
		Dir:  pkgDir,
		Env:  []string{"CGO_ENABLED=0", "GOOS=linux"},
	}
}

// BuildGoBinary builds the Go main package in the local directory pkgDir as
// a static linux binary at outPath (for the local machine's architecture,
// unless GOARCH is set in the environment), ready for BuildScratchImage.
func BuildGoBinary(ctx context.Context, pkgDir, outPath string) error {
	absOut, err := filepath.Abs(outPath)
	if err != nil {
		return fmt.Errorf("build go binary %s: %w", pkgDir, err)
	}
	if err := host.NewLocal().Run(ctx, GoBuildCmd(pkgDir, absOut)); err != nil {
		return fmt.Errorf("build go binary %s: %w", pkgDir, err)
	}
	return nil
}
