package demoimage_test

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/blueshift-deploy/blueshift/examples/demoapp/demoimage"
)

// Build two versions of the demo app for a blue-green demo.
func ExampleBuild() {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		panic(err)
	}
	for _, v := range []string{"v1.0.0", "v1.0.1"} {
		ref, err := demoimage.Build(context.Background(), cli, "blueshift-demo", v)
		if err != nil {
			panic(err)
		}
		fmt.Println("built", ref)
	}
}
