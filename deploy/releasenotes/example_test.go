package releasenotes_test

import (
	"context"
	"fmt"

	"github.com/blueshift-deploy/blueshift/deploy/host"
	"github.com/blueshift-deploy/blueshift/deploy/releasenotes"
)

// fakeGit answers LogArgv's command with two commits, as git log -z would.
type fakeGit struct{}

func (fakeGit) Run(_ context.Context, c host.Cmd) error {
	fmt.Fprint(c.Stdout, "1111111aaaa\x1f1111111\x1fAlice\x1f0000\x1ffeat(api): add orders endpoint\n\x00"+
		"2222222bbbb\x1f2222222\x1fBob\x1f1111\x1ffix: handle empty cart\n\x00")
	return nil
}

func ExampleGenerate() {
	// host.NewLocal() runs the real git; fakeGit keeps the output fixed.
	notes, err := releasenotes.Generate(context.Background(), fakeGit{}, releasenotes.Options{From: "v1.0.0", To: "v1.1.0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(notes.Markdown())
	fmt.Println("--")
	fmt.Println(notes.Short(60))
	// Output:
	// ### Features
	// - **api:** add orders endpoint (`1111111`, Alice)
	//
	// ### Fixes
	// - handle empty cart (`2222222`, Bob)
	// --
	// Features:
	// • api: add orders endpoint (1111111)
	// … and 1 more
}
