// Package deploy holds slipway's install manifests; this test keeps them
// honest: they render with Kustomize, a real API server accepts them, and
// the server config they carry loads.
package deploy

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{})) }

func TestManifestsApply(t *testing.T) {
	env := testenv.Get(t)
	res, err := render.Render(context.Background(), ".", &repoconfig.Environment{Name: "slipway", Path: "."}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != render.KindKustomize {
		t.Fatalf("deploy/ rendered as %s, want kustomize", res.Kind)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))

	kinds := map[string]bool{}
	for _, o := range res.Objects {
		u := o.Object
		kinds[u.GetKind()] = true
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: %v", gvk.Kind, u.GetName(), err)
		}
		client := env.Dynamic().Resource(mapping.Resource)
		data, _ := json.Marshal(u.Object)
		force := true
		opts := metav1.PatchOptions{FieldManager: "deploy-test", Force: &force}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			_, err = client.Namespace(u.GetNamespace()).Patch(context.Background(), u.GetName(), types.ApplyPatchType, data, opts)
		} else {
			_, err = client.Patch(context.Background(), u.GetName(), types.ApplyPatchType, data, opts)
		}
		if err != nil {
			t.Errorf("API server refused %s %s/%s: %v", gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
	}
	for _, want := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service"} {
		if !kinds[want] {
			t.Errorf("deploy/ has no %s", want)
		}
	}
}

// The ConfigMap's slipway.yaml plus the Secret's variables must make a
// config the server accepts.
func TestConfigMapConfigLoads(t *testing.T) {
	res, err := render.Render(context.Background(), ".", &repoconfig.Environment{Name: "slipway", Path: "."}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	for _, o := range res.Objects {
		if o.Object.GetKind() != "ConfigMap" || o.Object.GetName() != "slipway-config" {
			continue
		}
		data, _, _ := unstructured.NestedString(o.Object.Object, "data", "slipway.yaml")
		env := []string{"GITHUB_APP_WEBHOOK_SECRET=s", "GITHUB_APP_PRIVATE_KEY=" + string(keyPEM)}
		if _, err := config.Parse("deploy/configmap.yaml", []byte(data), env); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("no slipway-config ConfigMap in deploy/")
}
