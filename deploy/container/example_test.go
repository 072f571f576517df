package container_test

import (
	"context"
	"log"

	"github.com/docker/docker/client"

	"github.com/blueshift-deploy/blueshift/deploy/container"
)

// Build a static Go program into a FROM scratch image whose healthcheck runs
// the program itself.
func ExampleBuildScratchImage() {
	ctx := context.Background()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	if err := container.BuildGoBinary(ctx, "./cmd/demo", "/tmp/demo/demo"); err != nil {
		log.Fatal(err)
	}
	err = container.BuildScratchImage(ctx, cli, container.ScratchImage{
		Tag:          "demo:v1.0.1",
		Binary:       "/tmp/demo/demo",
		Entrypoint:   []string{"/demo", "serve"},
		Env:          []string{"PORT=8080"},
		ExposedPorts: []string{"8080/tcp"},
		Healthcheck:  &container.HealthcheckSpec{Test: []string{"/demo", "health"}},
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Pull the release's image with a GHCR token, then run migrations in the new
// colour's backend container.
func ExamplePull() {
	ctx := context.Background()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		log.Fatal(err)
	}
	auth := container.RegistryAuth{Username: "deploy-bot", Password: "token from GITHUB_TOKEN"}
	if err := container.Pull(ctx, cli, "ghcr.io/acme/backend:v1.0.1", auth, nil); err != nil {
		log.Fatal(err)
	}
	cs, err := container.Containers(ctx, cli, "acme", "green")
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range cs {
		if c.Service == "backend" {
			res, err := container.Exec(ctx, cli, c.ID, []string{"python", "manage.py", "migrate", "--noinput"}, nil)
			if err != nil || res.ExitCode != 0 {
				log.Fatalf("migrate: exit %d: %s %v", res.ExitCode, res.Stderr, err)
			}
		}
	}
}
