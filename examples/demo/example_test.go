package demo_test

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/examples/demo"
)

// The whole demo, as `go tool mage demo` runs it, then removed again.
func Example() {
	ctx := context.Background()
	o := demo.Options{Progress: func(s string) { fmt.Println("demo:", s) }}
	ws, err := demo.Setup(ctx, o)
	if err != nil {
		panic(err)
	}
	if _, err := demo.StartProxy(ctx, ws); err != nil {
		panic(err)
	}
	res, err := demo.Run(ctx, ws)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s live; %d requests during the deployment, %d failed\n", demo.SecondVersion, res.Load.Sent, res.Load.Failed)
	for _, step := range ws.NextSteps() {
		fmt.Println(step)
	}
	if _, err := demo.Down(ctx, o); err != nil {
		panic(err)
	}
}
