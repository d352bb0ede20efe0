package plan

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The id the ApplySet specification prescribes, computed independently:
// base64url(sha256("slipway-staging.shop.ConfigMap.")) without padding.
func TestApplySetID(t *testing.T) {
	const want = "applyset--8RO_w8G8POWikE8GU3B5eKXQC0Sys4k_vaAGZJY1is-v1"
	if got := ApplySetID("slipway-staging", "shop"); got != want {
		t.Errorf("ApplySetID = %s, want %s", got, want)
	}
}

func TestInventoryRoundTrip(t *testing.T) {
	f := newFixture(t)
	other := strings.Replace(f.ns, "roundtrip", "other", 1)
	f.apply(f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: Secret
metadata: {name: b}
stringData: {k: v}
---
apiVersion: v1
kind: Namespace
metadata: {name: ` + other + `}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: c, namespace: ` + other + `}
`))
	t.Cleanup(func() {
		_ = f.kube.Client().CoreV1().Namespaces().Delete(t.Context(), other, metav1.DeleteOptions{})
	})
	got, err := f.engine.Inventory(f.ctx(), f.repo, f.env)
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{
		{Version: "v1", Kind: "Namespace", Name: other},
		{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: "a"},
		{Version: "v1", Kind: "Secret", Namespace: f.ns, Name: "b"},
		{Version: "v1", Kind: "ServiceAccount", Namespace: other, Name: "c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Inventory:\n got %v\nwant %v", got, want)
	}

	// The parent is what kubectl's --applyset expects, named and recorded
	// as the repository's environment.
	name := InventoryName(f.repo, "staging")
	cm, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantAnn := map[string]string{
		"applyset.kubernetes.io/tooling":               "slipway/v1",
		"applyset.kubernetes.io/contains-group-kinds":  "ConfigMap,Namespace,Secret,ServiceAccount",
		"applyset.kubernetes.io/additional-namespaces": other,
		"slipway.dev/environment":                      "staging",
		"slipway.dev/repository":                       "acme/shop",
	}
	if !reflect.DeepEqual(cm.Annotations, wantAnn) {
		t.Errorf("parent annotations %v, want %v", cm.Annotations, wantAnn)
	}
	if id := cm.Labels["applyset.kubernetes.io/id"]; id != ApplySetID(name, f.ns) {
		t.Errorf("parent id label %q", id)
	}
	sa, err := f.kube.Client().CoreV1().ServiceAccounts(other).Get(t.Context(), "c", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.Labels["applyset.kubernetes.io/part-of"] != cm.Labels["applyset.kubernetes.io/id"] {
		t.Errorf("member labels %v", sa.Labels)
	}
}

func TestInventoryRefusesAnotherToolsParent(t *testing.T) {
	f := newFixture(t)
	name := InventoryName(f.repo, "staging")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: f.ns,
		Annotations: map[string]string{"applyset.kubernetes.io/tooling": "kubectl/v1.37"},
		Labels:      map[string]string{"applyset.kubernetes.io/id": ApplySetID(name, f.ns)},
	}}
	if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.Inventory(f.ctx(), f.repo, f.env); err == nil || !strings.Contains(err.Error(), "kubectl") {
		t.Errorf("Inventory error = %v, want a refusal naming kubectl", err)
	}
	if err := f.engine.WriteInventory(f.ctx(), f.repo, f.env, nil); err == nil {
		t.Error("WriteInventory overwrote another tool's ApplySet")
	}
}

func TestDeleteFromInventory(t *testing.T) {
	three := `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gone}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: pinned, annotations: {slipway.dev/prune: disabled}}
`
	two := `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
`
	tests := []struct {
		name  string
		prune *bool
		want  []string // deleted names
		kept  []string // no longer rendered, left in place
	}{
		{name: "prune", want: []string{"gone"}, kept: []string{"pinned"}},
		{name: "prune disabled", prune: ptr.To(false), want: nil, kept: []string{"gone", "pinned"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.apply(f.objects(three))
			f.env.Prune = tc.prune
			p := f.plan(f.objects(two))
			var deleted, kept []string
			for _, ch := range p.Changes {
				switch {
				case ch.Action == Delete:
					deleted = append(deleted, ch.Ref.Name)
					if !strings.Contains(ch.Before, "name: gone") || ch.After != "" || ch.File != "" {
						t.Errorf("delete %+v", ch)
					}
				case ch.Kept:
					kept = append(kept, ch.Ref.Name)
					if ch.Action != Unchanged || !strings.HasPrefix(ch.Message, "kept: no longer rendered") {
						t.Errorf("kept %+v: want unchanged with a note saying why", ch)
					}
				}
			}
			if !reflect.DeepEqual(deleted, tc.want) {
				t.Errorf("deleted %v, want %v (plan %v)", deleted, tc.want, summary(p))
			}
			if !reflect.DeepEqual(kept, tc.kept) {
				t.Errorf("kept %v, want %v (plan %v)", kept, tc.kept, summary(p))
			}
			// The note saying how many are kept is report's (KeptNote),
			// from these changes; the plan itself carries no words.
			if len(p.Notes) != 0 {
				t.Errorf("notes %q: the plan engine writes none", p.Notes)
			}
			wantAction(t, change(t, p, "ConfigMap", "keep"), Unchanged)
			if again := f.plan(f.objects(two)); again.Digest != p.Digest {
				t.Errorf("digest changed between two plans of the same state: %s, %s", p.Digest, again.Digest)
			}
		})
	}
}

// Writing the inventory a parent already records sends nothing (most
// applies write it twice, unchanged); a new group-kind or namespace, or a
// hand edit of the record, is written.
func TestWriteInventorySkipsWhatIsRecorded(t *testing.T) {
	f := newFixture(t)
	engine, counter := f.countingEngine(t, Options{})
	cms := []Ref{{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: "a"}}
	withDeployment := append(cms[:1:1], Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: f.ns, Name: "web"})
	name := InventoryName(f.repo, "staging")
	kinds := func() string {
		t.Helper()
		cm, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Annotations["applyset.kubernetes.io/contains-group-kinds"]
	}
	steps := []struct {
		name   string
		edit   func()
		refs   []Ref
		writes int
		kinds  string
	}{
		{"first", nil, cms, 1, "ConfigMap"},
		{"unchanged", nil, cms, 0, "ConfigMap"},
		{"other object of a recorded kind", nil, []Ref{{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: "b"}}, 0, "ConfigMap"},
		{"new kind", nil, withDeployment, 1, "ConfigMap,Deployment.apps"},
		{"unchanged again", nil, withDeployment, 0, "ConfigMap,Deployment.apps"},
		{"hand edit", func() {
			cm, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cm.Annotations["applyset.kubernetes.io/contains-group-kinds"] = "ConfigMap"
			if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Update(t.Context(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
				t.Fatal(err)
			}
		}, withDeployment, 1, "ConfigMap,Deployment.apps"},
		{"fewer kinds", nil, cms, 1, "ConfigMap"},
	}
	for _, st := range steps {
		if st.edit != nil {
			st.edit()
		}
		counter.reset()
		if err := engine.WriteInventory(f.ctx(), f.repo, f.env, st.refs); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := counter.reset(); got[http.MethodPatch] != st.writes {
			t.Errorf("%s: requests %v, want %d PATCH", st.name, got, st.writes)
		}
		if got := kinds(); got != st.kinds {
			t.Errorf("%s: the parent records %q, want %q", st.name, got, st.kinds)
		}
	}
}
