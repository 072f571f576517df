package compose_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
	"github.com/blueshift-deploy/blueshift/deploy/version"
)

// Render the Django app of testdata/django for the blue colour: the colour
// project runs backend, celery and frontend on loopback ports; db and redis
// live in the shared project.
func ExampleRender() {
	p, err := compose.Load(context.Background(), compose.LoadOptions{Dir: "testdata/django"})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := compose.Render(p, compose.RenderOptions{
		App: "thebot", Colour: version.Blue, Version: "v1.0.1",
		Shared: []string{"db", "redis"},
		Ports: map[string]compose.PortMap{
			"backend":  {Container: 8000, Host: 18000},
			"frontend": {Container: 80, Host: 13000},
		},
		HostDir: "/srv/thebot",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Colour.Name(), r.Colour.Services(), r.Colour.Project.Services["backend"].Image)
	fmt.Println(r.Shared.Name(), r.Shared.Services())
	for _, v := range r.Volumes {
		fmt.Println("volume", v.Name)
	}
	fmt.Println("network", r.Networks[0].Name)
	// Output:
	// thebot-blue [backend celery frontend] ghcr.io/thebot/backend:v1.0.1
	// thebot [db redis]
	// volume thebot_media
	// volume thebot_postgres_data
	// volume thebot_redis_data
	// volume thebot-static-files
	// network thebot_net
}

// The commands a deployment runs for the green colour, as data.
func ExampleCLI() {
	green := compose.CLI{ProjectName: "thebot-green", Files: []string{".blueshift/thebot-green.yml"}, Dir: "/srv/thebot"}
	fmt.Println(strings.Join(green.Up(2*time.Minute).Argv, " "))
	fmt.Println(strings.Join(green.Run("backend", nil, "python", "manage.py", "migrate").Argv, " "))
	fmt.Println(strings.Join(green.Stop(30*time.Second).Argv, " "))
	// Output:
	// docker compose --project-name thebot-green --file .blueshift/thebot-green.yml up --detach --remove-orphans --wait --wait-timeout 120
	// docker compose --project-name thebot-green --file .blueshift/thebot-green.yml run --rm -T --no-deps backend python manage.py migrate
	// docker compose --project-name thebot-green --file .blueshift/thebot-green.yml stop --timeout 30
}
