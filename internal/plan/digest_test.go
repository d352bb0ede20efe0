package plan

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipwayhq/slipway/internal/render"
)

func TestDigest(t *testing.T) {
	f := newFixture(t)
	text := `
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
data: {k: "1"}
`
	f.apply(f.objects(text))
	digest := func(commit string, objs []render.Object) string {
		t.Helper()
		p, err := f.engine.Compute(f.ctx(), f.env, commit, &render.Result{Objects: objs})
		if err != nil {
			t.Fatal(err)
		}
		return p.Digest
	}
	base := digest("c1", f.objects(text))
	if len(base) != len("sha256:")+64 || base[:7] != "sha256:" {
		t.Fatalf("digest %q", base)
	}
	if again := digest("c1", f.objects(text)); again != base {
		t.Errorf("same inputs, different digests: %s, %s", base, again)
	}
	edited := f.objects(text)
	edited[1].Object.Object["data"] = map[string]any{"k": "2"}
	for name, got := range map[string]string{
		"another commit":   digest("c2", f.objects(text)),
		"an edited object": digest("c1", edited),
		"one object fewer": digest("c1", f.objects(text)[:1]),
		"another environment": func() string {
			f.env.Name = "prod"
			defer func() { f.env.Name = "staging" }()
			return digest("c1", f.objects(text))
		}(),
	} {
		if got == base {
			t.Errorf("%s: digest unchanged", name)
		}
	}

	// Someone changes a live object (here only its labels' order-free
	// metadata): its resourceVersion moves, and so does the digest.
	patch := []byte(`{"metadata":{"annotations":{"touched":"yes"}}}`)
	if _, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Patch(f.ctx(), "a", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := digest("c1", f.objects(text)); got == base {
		t.Error("a live resourceVersion changed, digest did not")
	}
}
