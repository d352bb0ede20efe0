package repoconfig

import (
	"strings"
	"testing"
)

func TestParseReconciler(t *testing.T) {
	const head = "version: 1\nenvironments:\n  - name: prod\n    path: clusters/prod\n    cluster: c\n"
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
		check   func(t *testing.T, e *Environment)
	}{
		{
			name: "flux defaults: Kustomization in flux-system, drift off",
			yaml: head + "    reconciler: {flux: {name: apps}}\n",
			check: func(t *testing.T, e *Environment) {
				f := e.Reconciler.Flux
				if f.Kind != FluxKustomization || f.Namespace != DefaultFluxNamespace || f.Name != "apps" {
					t.Errorf("flux: %+v", f)
				}
				if e.Drift != DriftOff || e.Mode != ModeOnMerge || !e.Reconciled() || e.FieldManager() != FluxFieldManager {
					t.Errorf("drift %q, mode %q, field manager %q", e.Drift, e.Mode, e.FieldManager())
				}
				if got := e.Reconciler.String(); got != "Flux Kustomization flux-system/apps" {
					t.Errorf("String() = %q", got)
				}
			},
		},
		{
			name: "argocd defaults to the argocd namespace; drift report kept",
			yaml: head + "    drift: report\n    reconciler: {argocd: {application: shop-prod}}\n",
			check: func(t *testing.T, e *Environment) {
				if a := e.Reconciler.ArgoCD; a.Namespace != DefaultArgoCDNamespace || a.Application != "shop-prod" {
					t.Errorf("argocd: %+v", a)
				}
				if e.Drift != DriftReport || e.FieldManager() != ArgoCDFieldManager {
					t.Errorf("drift %q, field manager %q", e.Drift, e.FieldManager())
				}
			},
		},
		{
			name: "a HelmRelease is applied by helm-controller",
			yaml: head + "    reconciler: {flux: {kind: HelmRelease, name: shop}}\n",
			check: func(t *testing.T, e *Environment) {
				if e.FieldManager() != FluxHelmFieldManager || e.Reconciler.String() != "Flux HelmRelease flux-system/shop" {
					t.Errorf("field manager %q, %s", e.FieldManager(), e.Reconciler)
				}
			},
		},
		{
			name: "no reconciler: slipway applies, drift report",
			yaml: head,
			check: func(t *testing.T, e *Environment) {
				if e.Reconciled() || e.FieldManager() != "" || e.Drift != DriftReport {
					t.Errorf("%+v", e)
				}
			},
		},
		{name: "empty reconciler", yaml: head + "    reconciler: {}\n", wantErr: []string{".slipway.yaml:6: environments[0].reconciler: name one reconciler"}},
		{name: "both", yaml: head + "    reconciler: {flux: {name: a}, argocd: {application: b}}\n", wantErr: []string{"environments[0].reconciler: name one reconciler, flux or argocd, not both"}},
		{name: "flux without a name", yaml: head + "    reconciler:\n      flux: {namespace: flux-system}\n", wantErr: []string{".slipway.yaml:7: environments[0].reconciler.flux.name: is required: the Flux Kustomization"}},
		{name: "flux kind misspelt", yaml: head + "    reconciler:\n      flux:\n        kind: Kustomisation\n        name: apps\n", wantErr: []string{`.slipway.yaml:8: environments[0].reconciler.flux.kind: must be one of Kustomization, HelmRelease; got "Kustomisation" (did you mean "Kustomization"?)`}},
		{name: "flux bad namespace", yaml: head + "    reconciler: {flux: {name: apps, namespace: Flux_System}}\n", wantErr: []string{`environments[0].reconciler.flux.namespace: "Flux_System" is not a valid namespace name`}},
		{name: "argocd without an application", yaml: head + "    reconciler: {argocd: {namespace: argocd}}\n", wantErr: []string{"environments[0].reconciler.argocd.application: is required"}},
		{name: "argocd bad application name", yaml: head + "    reconciler: {argocd: {application: Shop/Prod}}\n", wantErr: []string{`environments[0].reconciler.argocd.application: "Shop/Prod" is not a valid object name`}},
		{name: "unknown key under flux", yaml: head + "    reconciler: {flux: {name: a, nmespace: x}}\n", wantErr: []string{`environments[0].reconciler.flux.nmespace: unknown key (did you mean "namespace"?)`}},
		{name: "before-merge refused", yaml: head + "    mode: before-merge\n    reconciler: {flux: {name: apps}}\n", wantErr: []string{".slipway.yaml:6: environments[0].mode: cannot be before-merge: Flux Kustomization flux-system/apps applies this environment after merge"}},
		{name: "drift reconcile refused", yaml: head + "    drift: reconcile\n    reconciler: {argocd: {application: shop}}\n", wantErr: []string{".slipway.yaml:6: environments[0].drift: cannot be reconcile: Argo CD Application argocd/shop repairs drift itself"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(FileName, []byte(tt.yaml))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error: %+v", c.Environments[0])
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error\n%s\ndoes not contain\n%s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, &c.Environments[0])
		})
	}
}
