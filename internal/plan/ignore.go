package plan

import (
	"fmt"
	"strings"

	ssajsondiff "github.com/fluxcd/pkg/ssa/jsondiff"
	"github.com/go-openapi/jsonpointer"
	"github.com/wI2L/jsondiff"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// ignoredPaths returns the JSON pointers env's ignore list names for the
// object ref. An empty kind, namespace or name in a rule matches any.
func ignoredPaths(rules []repoconfig.Ignore, ref Ref) []string {
	var paths []string
	for _, r := range rules {
		if r.Kind != "" && !strings.EqualFold(r.Kind, ref.Kind) ||
			r.Namespace != "" && r.Namespace != ref.Namespace ||
			r.Name != "" && r.Name != ref.Name {
			continue
		}
		paths = append(paths, r.Paths...)
	}
	return paths
}

// removePaths deletes the JSON pointers paths from u in place; a path u does
// not have is no error.
func removePaths(u *unstructured.Unstructured, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	if err := ssajsondiff.ApplyPatchToUnstructured(u, ssajsondiff.GenerateRemovePatch(paths...)); err != nil {
		return fmt.Errorf("ignore %s in %s: %w", strings.Join(paths, ", "), refOf(u), err)
	}
	return nil
}

// adoptIgnored keeps applying an ignored field that dropping it would change.
//
// Ignored paths are left out of what slipway sends, so that slipway neither
// sets nor takes ownership of fields another controller runs (an HPA's
// spec.replicas). But a field slipway alone owns from earlier applies is
// removed (or reset to its default) when slipway stops sending it. The
// dry-run shows exactly that: where an ignored path's dry-run value differs
// from the live one, desired gets the live value back, so apply leaves the
// field as it is. Returns whether desired changed.
func adoptIgnored(desired, live, dryRun *unstructured.Unstructured, paths []string) (bool, error) {
	var patch jsondiff.Patch
	for _, p := range paths {
		liveValue, ok := lookup(live, p)
		if !ok {
			continue
		}
		if dryValue, ok := lookup(dryRun, p); ok && apiequality.Semantic.DeepEqual(liveValue, dryValue) {
			continue
		}
		patch = append(patch, jsondiff.Operation{Type: jsondiff.OperationAdd, Path: p, Value: liveValue})
	}
	if len(patch) == 0 {
		return false, nil
	}
	if err := ssajsondiff.ApplyPatchToUnstructured(desired, patch); err != nil {
		return false, fmt.Errorf("keep ignored fields of %s: %w", refOf(desired), err)
	}
	return true, nil
}

// lookup resolves a JSON pointer in u; a path that does not resolve is absent.
func lookup(u *unstructured.Unstructured, pointer string) (any, bool) {
	p, err := jsonpointer.New(pointer)
	if err != nil {
		return nil, false
	}
	v, _, err := p.Get(u.Object)
	if err != nil {
		return nil, false
	}
	return v, true
}
