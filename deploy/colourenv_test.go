package deploy

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
)

func TestSetColourEnv(t *testing.T) {
	own := "custom"
	shared := types.MappingWithEquals{"A": &own}
	svc := func(name string, env types.MappingWithEquals) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.Environment = env // promoted from the embedded ContainerSpec
		return s
	}
	p := &types.Project{Services: types.Services{
		"web":    svc("web", shared),
		"worker": svc("worker", nil),
		"pinned": svc("pinned", types.MappingWithEquals{ColourEnv: &own}),
	}}
	setColourEnv(&compose.RenderedProject{Project: p}, "green")
	for name, want := range map[string]string{"web": "green", "worker": "green", "pinned": "custom"} {
		got := p.Services[name].Environment[ColourEnv]
		if got == nil || *got != want {
			t.Errorf("%s: %s = %v, want %q", name, ColourEnv, got, want)
		}
	}
	if _, ok := shared[ColourEnv]; ok {
		t.Error("the loaded project's environment map was changed in place")
	}
	if a := p.Services["web"].Environment["A"]; a == nil || *a != "custom" {
		t.Errorf("web lost its own variables: %v", p.Services["web"].Environment)
	}
}
