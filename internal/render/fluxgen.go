package render

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// fluxGenerates reports whether env's directory, when it has no
// kustomization, is built the way Flux's kustomize-controller builds it
// (a generated kustomization) rather than read as plain YAML.
func fluxGenerates(src *source) bool {
	r := src.env.Reconciler
	return r != nil && r.Flux != nil && r.Flux.Kind != "HelmRelease"
}

// fluxKustomization is the kustomization kustomize-controller generates for
// a directory that has none (fluxcd/pkg/kustomize, Generator's
// findOrGenerateKustomization and scanManifests): every .yaml and .yml file
// below the directory, and every subdirectory that holds a kustomization
// (not descending into it), in walk order; no resources at all is an empty
// kustomization with a placeholder namespace, as Flux writes it.
func fluxKustomization(src *source) ([]byte, error) {
	var resources []string
	err := filepath.WalkDir(src.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src.dir {
			return nil
		}
		rel, err := filepath.Rel(src.dir, p)
		if err != nil {
			return err
		}
		rel = "./" + filepath.ToSlash(rel)
		if d.IsDir() {
			for _, name := range konfig.RecognizedKustomizationFileNames() {
				if _, fi, err := src.jail.stat(filepath.Join(p, name)); err == nil && fi != nil && !fi.IsDir() {
					resources = append(resources, rel)
					return filepath.SkipDir
				}
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" {
			resources = append(resources, rel)
		}
		return nil
	})
	if err != nil {
		return nil, src.jail.errorAt(src.rel, err)
	}
	k := types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
	if len(resources) == 0 {
		k.Namespace = "_placeholder"
	}
	k.Resources = slices.Clip(resources)
	return yaml.Marshal(k)
}

// generatedKustomization is where renderKustomize reads the generated
// kustomization from, repo-relative, for messages.
func generatedKustomization(src *source) string {
	return path.Join(src.rel, konfig.DefaultKustomizationFileName())
}
