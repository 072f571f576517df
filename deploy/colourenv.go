package deploy

import (
	"maps"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/blueshift-deploy/blueshift/deploy/compose"
)

// ColourEnv is the environment variable every service of a colour gets,
// set to "blue" or "green", so the application can name the colour that
// answered (in the X-Blueshift-Colour header proxy.version_header checks
// after a switch). A value the compose file sets itself is kept.
const ColourEnv = "BLUESHIFT_COLOUR"

// setColourEnv gives every service of the rendered colour project
// ColourEnv=c, unless the compose file sets it.
func setColourEnv(rp *compose.RenderedProject, c string) {
	if rp == nil || rp.Project == nil {
		return
	}
	for name, svc := range rp.Project.Services {
		if _, ok := svc.Environment[ColourEnv]; ok {
			continue
		}
		env := types.MappingWithEquals{}
		maps.Copy(env, svc.Environment)
		v := c
		env[ColourEnv] = &v
		svc.Environment = env
		rp.Project.Services[name] = svc
	}
}
