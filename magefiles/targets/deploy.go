package targets

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"

	"github.com/blueshift-deploy/blueshift/deploy"
	bsversion "github.com/blueshift-deploy/blueshift/deploy/version"
)

// Deploy holds the deployment targets.
type Deploy mg.Namespace

// Production deploys VERSION (or "auto") to production with a blue-green switch, rolling back on failure.
//
// The live timeline and the summary go to stdout, the JSON report to
// $BLUESHIFT_REPORT (default blueshift-report.json). Exit 0 deployed,
// 1 failed before anything changed, 2 rolled back, 3 the rollback failed
// too (look now). Ctrl-C stops the deployment and rolls back.
func (Deploy) Production(ctx context.Context, version string) error {
	return deployTo(ctx, "production", version)
}

// Staging deploys VERSION (or "auto") to staging, exactly like deploy:production.
func (Deploy) Staging(ctx context.Context, version string) error {
	return deployTo(ctx, "staging", version)
}

// To deploys VERSION (or "auto") to environment ENV of deploy.yml, exactly like deploy:production.
//
// An environment deploy.yml does not define is refused, naming the ones it
// does.
func (Deploy) To(ctx context.Context, env, version string) error {
	if env == "" {
		return fail(fmt.Errorf("deploy:to: ENV is empty: name an environment of deploy.yml"))
	}
	return deployTo(ctx, env, version)
}

// deployTo runs the deployment pipeline for version on environment env.
func deployTo(ctx context.Context, env, version string) error {
	v, err := parseVersion(version)
	if err != nil {
		return fail(err)
	}
	return withEngine(ctx, env, func(ctx context.Context, eng *deploy.Engine) error {
		return runPipeline(ctx, eng, eng.Pipeline(), eng.NewDeployment(v))
	})
}

// Plan prints what deploying VERSION to ENV would do, changing nothing; exits 1 if preflight fails.
func (Deploy) Plan(ctx context.Context, version string, env *string) error {
	v, err := parseVersion(version)
	if err != nil {
		return fail(err)
	}
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		plan, err := eng.Plan(ctx, v, eng.Pipeline())
		if plan != nil {
			plan.Write(stdout)
		}
		return err
	})
}

// Compose holds targets about the rendered Compose files.
type Compose mg.Namespace

// Render prints the compose file of COLOUR (blue or green) for VERSION in ENV, as a deployment would write it.
//
// The shared project's file (databases, caches) follows after a "---" line.
// Values taken from the host's env file are printed as ${NAME}, never
// their values; the files a deployment writes hold the values.
func (Compose) Render(ctx context.Context, colour, version string, env *string) error {
	c, err := bsversion.ParseColour(colour)
	if err != nil {
		return fail(err)
	}
	v, err := parseVersion(version)
	if err != nil {
		return fail(err)
	}
	return withEngine(ctx, envName(env), func(ctx context.Context, eng *deploy.Engine) error {
		coloured, shared, err := eng.Render(ctx, c, v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "# %s-%s\n%s---\n# %s (shared)\n%s", eng.App, c, coloured, eng.App, shared)
		return err
	})
}
