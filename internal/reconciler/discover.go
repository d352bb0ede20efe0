package reconciler

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Discover lists the environments the reconcilers on a cluster deploy from
// repository repo (owner/name): every Flux Kustomization and HelmRelease
// whose GitRepository clones repo, every HelmRelease from a chart source
// that such a Kustomization applies (its path is the Kustomization's), and
// every Argo CD Application whose
// source is repo, each as a .slipway.yaml environment of cluster named
// after its object. A kind the cluster does not serve (no Flux, no Argo CD)
// is skipped.
func Discover(ctx context.Context, c client.Client, repo, cluster string) ([]repoconfig.Environment, error) {
	var envs []repoconfig.Environment
	sources := map[client.ObjectKey]string{} // GitRepository -> its URL
	repos, err := list(ctx, c, gitRepositoryGVK)
	if err != nil {
		return nil, err
	}
	for _, r := range repos {
		url, _, _ := unstructured.NestedString(r.Object, "spec", "url")
		sources[client.ObjectKeyFromObject(&r)] = url
	}
	fromRepo := func(obj *unstructured.Unstructured, ref ...string) bool {
		kind, _, _ := unstructured.NestedString(obj.Object, append(ref, "kind")...)
		name, _, _ := unstructured.NestedString(obj.Object, append(ref, "name")...)
		ns, _, _ := unstructured.NestedString(obj.Object, append(ref, "namespace")...)
		if ns == "" {
			ns = obj.GetNamespace()
		}
		return kind == fluxGitRepositoryKey && repoOf(sources[client.ObjectKey{Namespace: ns, Name: name}]) == strings.ToLower(repo)
	}
	applies := map[client.ObjectKey]string{} // a Kustomization of repo -> its path
	for _, kind := range []struct {
		gvk        schema.GroupVersionKind
		path, ref  []string
		targetNS   []string
		kindInConf string
	}{
		{kustomizationGVK, []string{"spec", "path"}, []string{"spec", "sourceRef"}, []string{"spec", "targetNamespace"}, repoconfig.FluxKustomization},
		{helmReleaseGVK, []string{"spec", "chart", "spec", "chart"}, []string{"spec", "chart", "spec", "sourceRef"}, []string{"spec", "targetNamespace"}, repoconfig.FluxHelmRelease},
	} {
		objs, err := list(ctx, c, kind.gvk)
		if err != nil {
			return nil, err
		}
		for i := range objs {
			obj := &objs[i]
			p, _, _ := unstructured.NestedString(obj.Object, kind.path...)
			switch {
			case fromRepo(obj, kind.ref...):
			case chartFromSource(obj):
				ks, ok := applies[client.ObjectKey{Namespace: obj.GetLabels()[kustomizeNamespaceLabel], Name: obj.GetLabels()[kustomizeNameLabel]}]
				if !ok {
					continue
				}
				p = ks
			default:
				continue
			}
			if kind.kindInConf == repoconfig.FluxKustomization {
				applies[client.ObjectKeyFromObject(obj)] = p
			}
			ns, _, _ := unstructured.NestedString(obj.Object, kind.targetNS...)
			envs = append(envs, repoconfig.Environment{Name: obj.GetName(), Path: orDot(cleanPath(p)), Cluster: cluster, Namespace: ns,
				Reconciler: &repoconfig.Reconciler{Flux: &repoconfig.FluxRef{Kind: kind.kindInConf, Name: obj.GetName(), Namespace: obj.GetNamespace()}}})
		}
	}
	apps, err := list(ctx, c, applicationGVK)
	if err != nil {
		return nil, err
	}
	for _, app := range apps {
		url, _, _ := unstructured.NestedString(app.Object, "spec", "source", "repoURL")
		if repoOf(url) != strings.ToLower(repo) {
			continue
		}
		p, _, _ := unstructured.NestedString(app.Object, "spec", "source", "path")
		ns, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "namespace")
		envs = append(envs, repoconfig.Environment{Name: app.GetName(), Path: orDot(cleanPath(p)), Cluster: cluster, Namespace: ns,
			Reconciler: &repoconfig.Reconciler{ArgoCD: &repoconfig.ArgoCDRef{Application: app.GetName(), Namespace: app.GetNamespace()}}})
	}
	nameEnvironments(envs)
	return envs, nil
}

// list lists every object of gvk in every namespace; none when the cluster
// does not serve the kind.
func list(ctx context.Context, c client.Client, gvk schema.GroupVersionKind) ([]unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.List(ctx, l); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", gvk.Kind, err)
	}
	slices.SortFunc(l.Items, func(a, b unstructured.Unstructured) int {
		return strings.Compare(a.GetNamespace()+"/"+a.GetName(), b.GetNamespace()+"/"+b.GetName())
	})
	return l.Items, nil
}

var notInName = regexp.MustCompile(`[^a-z0-9-]+`)

// nameEnvironments makes each environment's name one .slipway.yaml takes:
// lower-case letters, digits and dashes, unique (a second "apps" is
// "apps-2").
func nameEnvironments(envs []repoconfig.Environment) {
	seen := map[string]int{}
	for i := range envs {
		name := strings.Trim(notInName.ReplaceAllString(strings.ToLower(envs[i].Name), "-"), "-")
		if len(name) > 50 {
			name = strings.Trim(name[:50], "-")
		}
		if name == "" {
			name = "env"
		}
		seen[name]++
		if n := seen[name]; n > 1 {
			name = fmt.Sprintf("%s-%d", name, n)
		}
		envs[i].Name = name
	}
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// WriteConfig writes envs as a .slipway.yaml.
func WriteConfig(envs []repoconfig.Environment) string {
	var b strings.Builder
	b.WriteString("version: 1\nenvironments:\n")
	for _, e := range envs {
		fmt.Fprintf(&b, "  - name: %s\n    path: %q\n    cluster: %s\n", e.Name, e.Path, e.Cluster)
		if e.Namespace != "" {
			fmt.Fprintf(&b, "    namespace: %s\n", e.Namespace)
		}
		switch r := e.Reconciler; {
		case r.Flux != nil:
			fmt.Fprintf(&b, "    reconciler: {flux: {kind: %s, name: %s, namespace: %s}}\n", r.Flux.Kind, r.Flux.Name, r.Flux.Namespace)
		case r.ArgoCD != nil:
			fmt.Fprintf(&b, "    reconciler: {argocd: {application: %s, namespace: %s}}\n", r.ArgoCD.Application, r.ArgoCD.Namespace)
		}
	}
	return b.String()
}
