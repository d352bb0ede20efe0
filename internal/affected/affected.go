// Package affected decides which environments a change touches: those whose
// render read a changed file, or whose path holds one.
package affected

import (
	"context"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Environments returns the environments of cfg, in config order, that a pull
// request changing the files changed may change. An environment is
// affected when a changed file is one its render read at the base or at the
// head (baseFiles and headFiles map an environment to its
// render.Result.Files; a missing key means the render failed or the
// environment is absent on that side), or lies under its path. The path
// rule catches what no render read: a new file in the directory, a render
// that fails on both sides. An environment that renders at the base but not
// at the head is affected by any change: a failed render says nothing of
// what it would have read, and a change must not hide what it touches by
// breaking the render (or pushing it past a limit) where it is asked.
func Environments(cfg *repoconfig.Config, changed []string, baseFiles, headFiles map[string][]string) []string {
	var out []string
	for _, env := range cfg.Environments {
		_, baseRendered := baseFiles[env.Name]
		_, headRendered := headFiles[env.Name]
		if len(changed) > 0 && baseRendered && !headRendered {
			out = append(out, env.Name)
			continue
		}
		dir := path.Clean(env.Path)
		for _, file := range changed {
			if under(file, dir) || slices.Contains(baseFiles[env.Name], file) || slices.Contains(headFiles[env.Name], file) {
				out = append(out, env.Name)
				break
			}
		}
	}
	return out
}

// under reports whether the repo-relative file lies in dir.
func under(file, dir string) bool {
	return dir == "." || file == dir || strings.HasPrefix(file, dir+"/")
}

// Files renders every environment of cfg in the tree at dir, with
// no cluster to consult, each in a child process held to limits (opts.Fetch
// fetches the charts a render needs from outside the repository), and
// returns the files each render read. An environment that fails to render
// (or passes a limit) is in the second map instead, so one broken
// environment does not hide what the others read.
func Files(ctx context.Context, dir string, cfg *repoconfig.Config, opts render.Options, limits renderproc.Limits) (map[string][]string, map[string]error) {
	renders, errs := Renders(ctx, dir, cfg, opts, limits)
	return FilesOf(renders), errs
}

// Renders is Files with the whole results, for a caller that plans at the
// same tree next and would otherwise render every environment again. The
// results are unplaced (rendered without a Scope, whatever opts says):
// render.Place finishes one as renderproc.Render with a Scope would have.
func Renders(ctx context.Context, dir string, cfg *repoconfig.Config, opts render.Options, limits renderproc.Limits) (map[string]*render.Result, map[string]error) {
	opts.Scope = nil
	renders := map[string]*render.Result{}
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var caught recovery.Caught
	for i := range cfg.Environments {
		env := &cfg.Environments[i]
		wg.Go(func() {
			defer caught.Recover()
			res, err := renderproc.Render(ctx, dir, env, opts, limits)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[env.Name] = err
				return
			}
			renders[env.Name] = res
		})
	}
	wg.Wait()
	caught.Repanic()
	return renders, errs
}

// FilesOf is the files each of renders read.
func FilesOf(renders map[string]*render.Result) map[string][]string {
	files := make(map[string][]string, len(renders))
	for name, res := range renders {
		files[name] = res.Files
	}
	return files
}

// ConfigChanged reports whether the pull request edits .slipway.yaml, whose
// changes take effect only once merged: plans always use the base's.
func ConfigChanged(changed []string) bool {
	return slices.Contains(changed, repoconfig.FileName)
}
