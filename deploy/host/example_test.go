package host_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/blueshift-deploy/blueshift/deploy/host"
)

func ExampleOutput() {
	h := host.NewLocal()
	out, err := host.Output(context.Background(), h, "echo", "hello from", h.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output: hello from local
}

func ExampleNewSSH() {
	ctx := context.Background()
	h, err := host.NewSSH(ctx, host.SSHConfig{
		Addr:          os.Getenv("PRODUCTION_HOST"), // "deploy.example.com" or "host:2222"
		User:          os.Getenv("PRODUCTION_USER"),
		PrivateKeyPEM: []byte(os.Getenv("PRODUCTION_SSH_KEY")),
		// Either a known_hosts file (default ~/.ssh/known_hosts) or a pin:
		PinnedHostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
	})
	if err != nil {
		log.Fatal(err) // e.g. ErrUnknownHostKey, with the ssh-keyscan line to run
	}
	defer h.Close()

	out, err := host.Output(ctx, h, "docker", "compose", "version")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
}

func ExampleShellQuote() {
	fmt.Println(host.ShellQuote([]string{"sh", "-c", `echo "$HOME" it's`, ""}))
	// Output: sh -c 'echo "$HOME" it'\''s' ''
}

func ExampleWriteFileAtomic() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	h := host.NewLocal() // or an *host.SSH: the same calls work remotely
	path := filepath.Join(dir, ".env")
	if err := host.WriteFileAtomic(ctx, h, path, strings.NewReader("TOKEN=s3cret\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	data, err := host.ReadFile(ctx, h, path)
	if err != nil {
		log.Fatal(err)
	}
	fi, _ := os.Stat(path)
	fmt.Printf("%d bytes, mode %v\n", len(data), fi.Mode().Perm())
	// Output: 13 bytes, mode -rw-------
}

func ExampleNewDockerClient() {
	ctx := context.Background()
	var h host.Host = host.NewLocal() // or an *host.SSH
	docker, err := host.NewDockerClient(h, host.DefaultDockerSocket)
	if err != nil {
		log.Fatal(err)
	}
	defer docker.Close()
	v, err := docker.ServerVersion(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Docker Engine", v.Version, "API", v.APIVersion)
}
