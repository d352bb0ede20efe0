package testenv

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// argoCDApplicationCRD is Argo CD's Application CRD, cut down (see the file).
//
//go:embed crds/argocd-application.yaml
var argoCDApplicationCRD []byte

// InstallArgoCDApplications installs Argo CD's Application CRD in e (Argo CD
// itself is never run in the tests).
func (e *Env) InstallArgoCDApplications(ctx context.Context) error {
	return e.installCRDs(ctx, "argocd-application.yaml", argoCDApplicationCRD)
}

// fluxHelmReleaseCRD is Flux's HelmRelease CRD, cut down (see the file).
//
//go:embed crds/flux-helmrelease.yaml
var fluxHelmReleaseCRD []byte

// InstallFluxHelmReleases installs Flux's HelmRelease CRD in e
// (helm-controller itself is never run in the tests).
func (e *Env) InstallFluxHelmReleases(ctx context.Context) error {
	return e.installCRDs(ctx, "flux-helmrelease.yaml", fluxHelmReleaseCRD)
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs applies the CustomResourceDefinitions in files (multi-document
// YAML; other kinds are an error) to e, server-side, and waits until each is
// established. CRDs are cluster-wide and e is shared by a test binary, so
// installing the same file twice is harmless.
func (e *Env) InstallCRDs(ctx context.Context, files ...string) error {
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
		if err := e.installCRDs(ctx, file, data); err != nil {
			return err
		}
	}
	return nil
}

// installCRDs applies the CRDs in data, read from file.
func (e *Env) installCRDs(ctx context.Context, file string, data []byte) error {
	var names []string
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("testenv: %s: %w", file, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetKind() != "CustomResourceDefinition" {
			return fmt.Errorf("testenv: %s: %s %s is not a CustomResourceDefinition", file, u.GetKind(), u.GetName())
		}
		body, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		force := true
		if _, err := e.dynamic.Resource(crdResource).Patch(ctx, u.GetName(), types.ApplyYAMLPatchType, body,
			metav1.PatchOptions{FieldManager: "testenv", Force: &force}); err != nil {
			return fmt.Errorf("testenv: install %s: %w", u.GetName(), err)
		}
		names = append(names, u.GetName())
	}
	for _, name := range names {
		if err := e.waitEstablished(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) waitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		u, err := e.dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err == nil {
				for _, c := range crd.Status.Conditions {
					if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
						return nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: CRD %s not established: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
