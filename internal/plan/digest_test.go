package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/render"
)

// testMask is a fixed mask key's masker, for tests that print or digest.
var testMask = newMasker([]byte("test mask key"))

var testBasis = Basis{Repository: "acme/shop", Commit: "c1", ConfigBlob: "blob1", Cluster: "prod", ServiceAccount: "shop/deployer"}

// liveDeployment is a Deployment as the apiserver returns it, bookkeeping
// and status included.
func liveDeployment(image string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata": map[string]any{
			"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "100", "generation": int64(3),
			"creationTimestamp": "2026-01-01T00:00:00Z",
			"labels":            map[string]any{"app": "web"},
			"managedFields":     []any{map[string]any{"manager": "slipway", "operation": "Apply", "time": "2026-01-01T00:00:00Z"}},
		},
		"spec": map[string]any{
			"replicas": int64(2),
			"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "web", "image": image}},
			}},
		},
		"status": map[string]any{"replicas": int64(2), "readyReplicas": int64(2), "observedGeneration": int64(3)},
	}}
}

// secret is a live Secret (as the apiserver returns it) with one value.
func secret(value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "db", "namespace": "shop", "resourceVersion": "7"},
		"type":     "Opaque",
		"data":     map[string]any{"password": base64.StdEncoding.EncodeToString([]byte(value))},
	}}
}

// digestOf digests a one-object plan whose object is live in the cluster
// and dry-runs to dryRun, the way Compute does, feeding the digest to h.
func digestOf(t *testing.T, h hash.Hash, mask masker, env string, b Basis, live, dryRun *unstructured.Unstructured) string {
	t.Helper()
	it := &item{ref: refOf(dryRun), key: keyOf(dryRun), desired: dryRun, live: live, dryRun: dryRun}
	en, err := itemEntry(mask, it, planned{}, "applyset-1", "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := planDigest(h, mask, env, b, []entry{en}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// edit applies fn to a copy of u.
func edit(u *unstructured.Unstructured, fn func(o map[string]any)) *unstructured.Unstructured {
	out := u.DeepCopy()
	fn(out.Object)
	return out
}

// TestDigestCoversWhatWasReviewed: the digest of an update moves with what
// the reviewer saw (the normalised before and after, the action) and with
// the rules (config blob, cluster, service account), and not with what the
// apiserver and controllers write on every object.
func TestDigestCoversWhatWasReviewed(t *testing.T) {
	live, dryRun := liveDeployment("web:1"), liveDeployment("web:2")
	base := digestOf(t, sha256.New(), testMask, "production", testBasis, live, dryRun)
	if len(base) != len("sha256:")+64 || !strings.HasPrefix(base, "sha256:") {
		t.Fatalf("digest %q", base)
	}
	// onBoth changes the live object the way a write to the cluster does:
	// the dry-run answer, made on top of the live object, shows it too.
	onBoth := func(fn func(o map[string]any)) [2]*unstructured.Unstructured {
		return [2]*unstructured.Unstructured{edit(live, fn), edit(dryRun, fn)}
	}
	meta := func(o map[string]any) map[string]any { return o["metadata"].(map[string]any) }
	spec := func(o map[string]any) map[string]any { return o["spec"].(map[string]any) }
	for _, tc := range []struct {
		name      string
		env       string
		basis     Basis
		objs      [2]*unstructured.Unstructured // live, dry-run
		wantMoved bool
	}{
		{name: "same inputs", objs: [2]*unstructured.Unstructured{live, dryRun}},
		{name: "status written by a controller", objs: onBoth(func(o map[string]any) {
			o["status"] = map[string]any{"replicas": int64(3), "readyReplicas": int64(1), "updatedReplicas": int64(1)}
		})},
		{name: "resourceVersion moved", objs: onBoth(func(o map[string]any) { meta(o)["resourceVersion"] = "101" })},
		{name: "managedFields rewritten", objs: onBoth(func(o map[string]any) {
			meta(o)["managedFields"] = []any{map[string]any{"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}}
		})},
		{name: "generation, uid and creationTimestamp", objs: onBoth(func(o map[string]any) {
			meta(o)["generation"], meta(o)["uid"], meta(o)["creationTimestamp"] = int64(4), "u-2", "2026-02-02T00:00:00Z"
		})},
		{name: "live spec changed", wantMoved: true, objs: onBoth(func(o map[string]any) { spec(o)["paused"] = true })},
		{name: "live label changed", wantMoved: true, objs: onBoth(func(o map[string]any) { meta(o)["labels"] = map[string]any{"app": "api"} })},
		{name: "rendered spec changed", wantMoved: true, objs: [2]*unstructured.Unstructured{live, liveDeployment("web:3")}},
		{name: "action changed (now unchanged)", wantMoved: true, objs: [2]*unstructured.Unstructured{live, live}},
		{name: "action changed (now a create)", wantMoved: true, objs: [2]*unstructured.Unstructured{nil, dryRun}},
		{name: "another environment", env: "staging", wantMoved: true},
		{name: "another repository", basis: Basis{Repository: "acme/other"}, wantMoved: true},
		{name: "another commit", basis: Basis{Commit: "c2"}, wantMoved: true},
		{name: "another config blob", basis: Basis{ConfigBlob: "blob2"}, wantMoved: true},
		{name: "another cluster", basis: Basis{Cluster: "staging"}, wantMoved: true},
		{name: "another service account", basis: Basis{ServiceAccount: "shop/admin"}, wantMoved: true},
		{name: "slipway's own identity", basis: Basis{ServiceAccount: "-"}, wantMoved: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, b, objs := "production", testBasis, tc.objs
			if tc.env != "" {
				env = tc.env
			}
			if objs[1] == nil {
				objs = [2]*unstructured.Unstructured{live, dryRun}
			}
			for field, v := range map[*string]string{&b.Repository: tc.basis.Repository, &b.Commit: tc.basis.Commit, &b.ConfigBlob: tc.basis.ConfigBlob,
				&b.Cluster: tc.basis.Cluster, &b.ServiceAccount: tc.basis.ServiceAccount} {
				switch v {
				case "":
				case "-":
					*field = ""
				default:
					*field = v
				}
			}
			got := digestOf(t, sha256.New(), testMask, env, b, objs[0], objs[1])
			if moved := got != base; moved != tc.wantMoved {
				t.Errorf("digest moved: %v, want %v (%s, base %s)", moved, tc.wantMoved, got, base)
			}
		})
	}
}

// An unchanged object shows the reviewer nothing but its count, so a write
// to its live spec that leaves it unchanged (a field slipway does not set,
// like replicas under an HPA) does not move the digest.
func TestDigestOfUnchangedIsItsAction(t *testing.T) {
	live := liveDeployment("web:1")
	scaled := edit(live, func(o map[string]any) { o["spec"].(map[string]any)["replicas"] = int64(5) })
	a := digestOf(t, sha256.New(), testMask, "production", testBasis, live, live)
	b := digestOf(t, sha256.New(), testMask, "production", testBasis, scaled, scaled)
	if a != b {
		t.Errorf("an unchanged object scaled by a controller moved the digest: %s, %s", a, b)
	}
}

// TestDigestMarksAdoption: an object adopted from a legacy inventory shows
// the reviewer no move of its ApplySet label (a pure migration is
// unchanged), yet apply sends it to move the label, so the digest tells it
// apart from the same object already in the environment's own inventory.
func TestDigestMarksAdoption(t *testing.T) {
	const ownID, legacyID = "applyset-own", "applyset-legacy"
	labelled := func(u *unstructured.Unstructured, id string) *unstructured.Unstructured {
		return edit(u, func(o map[string]any) {
			o["metadata"].(map[string]any)["labels"] = map[string]any{"app": "web", applySetPartOfLabel: id}
		})
	}
	plan := func(liveID, image string) (Change, string) {
		t.Helper()
		live, dryRun := labelled(liveDeployment("web:1"), liveID), labelled(liveDeployment(image), ownID)
		it := &item{ref: refOf(dryRun), key: keyOf(dryRun), desired: dryRun, live: live, dryRun: dryRun}
		en, err := itemEntry(testMask, it, planned{}, ownID, legacyID)
		if err != nil {
			t.Fatal(err)
		}
		d, err := planDigest(sha256.New(), testMask, "production", testBasis, []entry{en}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return en.change, d
	}
	adopted, adoptedDigest := plan(legacyID, "web:1")
	owned, ownedDigest := plan(ownID, "web:1")
	if !adopted.Adopted || adopted.Action != Unchanged || adopted.Before != "" || adopted.After != "" || adopted.Message != "" {
		t.Errorf("a pure migration shows %+v, want an adopted, unchanged object and no diff", adopted)
	}
	if owned.Adopted || owned.Action != Unchanged {
		t.Errorf("an object of the environment's own inventory is %+v", owned)
	}
	if adoptedDigest == ownedDigest {
		t.Error("adopting an object did not move the digest")
	}
	adoptedUpdate, adoptedUpdateDigest := plan(legacyID, "web:2")
	ownedUpdate, ownedUpdateDigest := plan(ownID, "web:2")
	if !adoptedUpdate.Adopted || adoptedUpdate.Action != Update || strings.Contains(adoptedUpdate.Before, legacyID) {
		t.Errorf("an adopted update shows %+v, want an update without the label move", adoptedUpdate)
	}
	if adoptedUpdate.Before != ownedUpdate.Before || adoptedUpdate.After != ownedUpdate.After {
		t.Errorf("an adopted update's diff differs from the owned one's:\n%s\n%s", adoptedUpdate.Before, ownedUpdate.Before)
	}
	if adoptedUpdateDigest == ownedUpdateDigest {
		t.Error("adopting an updated object did not move the digest")
	}
}

// recorder is a hash that keeps a copy of everything fed to it.
type recorder struct {
	hash.Hash
	fed bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.fed.Write(p)
	return r.Hash.Write(p)
}

// TestDigestTakesSecretsOnlyAsMasks: a Secret's value moves the digest, but
// only through its mask; the clear value (plain or base64) is never fed to
// the hash, since the digest is published and could be tested offline.
func TestDigestTakesSecretsOnlyAsMasks(t *testing.T) {
	old := secret("old-password-1")
	var fed []string
	digest := func(mask masker, value string) string {
		t.Helper()
		r := &recorder{Hash: sha256.New()}
		d := digestOf(t, r, mask, "production", testBasis, old, secret(value))
		fed = append(fed, r.fed.String())
		return d
	}
	a, b := digest(testMask, "new-password-2"), digest(testMask, "new-password-3")
	if a == b {
		t.Error("a Secret's new value did not move the digest")
	}
	for _, in := range fed {
		for _, v := range []string{"old-password-1", "new-password-2", "new-password-3"} {
			for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
				if strings.Contains(in, form) {
					t.Errorf("the digest was fed the secret value %q", form)
				}
			}
		}
		if !regexp.MustCompile(`secret hmac:[0-9a-f]{12}`).MatchString(in) {
			t.Errorf("the digest was not fed the masks: %q", in)
		}
	}
	// With every value masked alike, nothing of the value is left to tell
	// the two plans apart.
	same := masker(func([]byte) string { return "<secret>" })
	if digest(same, "new-password-2") != digest(same, "new-password-3") {
		t.Error("with a constant mask the digests still differ: the value reaches the digest another way")
	}
	// Another key, other masks, another digest: the key is part of what
	// makes a digest reproducible, so replicas must share it.
	if digest(newMasker([]byte("another key")), "new-password-2") == a {
		t.Error("two mask keys gave the same digest of a Secret")
	}
}

// TestMaskKeyIsShared: engines built with one key (replicas, or one per
// cluster and identity) mask a value alike; another key masks it otherwise.
func TestMaskKeyIsShared(t *testing.T) {
	cfg := &rest.Config{Host: "https://127.0.0.1:1"} // NewEngine makes no request
	engine := func(key []byte) *Engine {
		t.Helper()
		e, err := NewEngine(cfg, Options{MaskKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	one, two, other, random := engine(key), engine(append([]byte(nil), key...)), engine([]byte("another key, just as long as it")), engine(nil)
	s := []*unstructured.Unstructured{secret("hunter2-value")}
	scrub := func(e *Engine) string { return e.SecretScrubber(s)("the value is hunter2-value") }
	if scrub(one) != scrub(two) {
		t.Errorf("one key, two masks: %q, %q", scrub(one), scrub(two))
	}
	if !maskPattern.MatchString(scrub(one)) || strings.Contains(scrub(one), "hunter2") {
		t.Errorf("not masked: %q", scrub(one))
	}
	if scrub(one) == scrub(other) || scrub(one) == scrub(random) {
		t.Errorf("another key, same mask: %q", scrub(one))
	}
	if one.mask([]byte("v")) != two.mask([]byte("v")) || one.mask([]byte("v")) == other.mask([]byte("v")) {
		t.Error("masks do not follow the key")
	}
}

func TestRulesDigest(t *testing.T) {
	base := testBasis.RulesDigest()
	if other := (Basis{Commit: "c9", ConfigBlob: "blob1", Cluster: "prod", ServiceAccount: "shop/deployer"}).RulesDigest(); other != base {
		t.Error("the commit moved the rules digest")
	}
	if other := (Basis{Repository: "acme/other", Commit: "c1", ConfigBlob: "blob1", Cluster: "prod", ServiceAccount: "shop/deployer"}).RulesDigest(); other != base {
		t.Error("the repository moved the rules digest: it is no rule")
	}
	for _, b := range []Basis{
		{Commit: "c1", ConfigBlob: "blob2", Cluster: "prod", ServiceAccount: "shop/deployer"},
		{Commit: "c1", ConfigBlob: "blob1", Cluster: "dev", ServiceAccount: "shop/deployer"},
		{Commit: "c1", ConfigBlob: "blob1", Cluster: "prod"},
		// Length-prefixed fields: moving a character across a boundary is
		// another basis.
		{Commit: "c1", ConfigBlob: "blob1p", Cluster: "rod", ServiceAccount: "shop/deployer"},
	} {
		if b.RulesDigest() == base {
			t.Errorf("%+v: rules digest unchanged", b)
		}
	}
}

// TestDigestOnCluster plays the digest against a real apiserver: what the
// dry-run answers for an unchanged status write keeps it, a spec write by
// someone else moves it.
func TestDigestOnCluster(t *testing.T) {
	f := newFixture(t)
	const text = `
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {k: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
`
	f.apply(f.objects(text))
	next := strings.NewReplacer(`k: "1"`, `k: "2"`, `web:1`, `web:2`).Replace(text)
	digest := func(b Basis, objs []render.Object) string {
		t.Helper()
		p, err := f.engine.Compute(f.ctx(), f.env, b, &render.Result{Objects: objs})
		if err != nil {
			t.Fatal(err)
		}
		if c := p.Counts(); c.Update != 2 && len(objs) == 2 {
			t.Fatalf("want two updates, got %v", summary(p))
		}
		return p.Digest
	}
	base := digest(testBasis, f.objects(next))
	if again := digest(testBasis, f.objects(next)); again != base {
		t.Errorf("same inputs, different digests: %s, %s", base, again)
	}
	edited := f.objects(next)
	edited[0].Object.Object["data"] = map[string]any{"k": "3"}
	other := testBasis
	other.ConfigBlob = "blob2"
	for name, got := range map[string]string{
		"another commit":      digest(Basis{Repository: "acme/shop", Commit: "c2", ConfigBlob: "blob1", Cluster: "prod", ServiceAccount: "shop/deployer"}, f.objects(next)),
		"another config blob": digest(other, f.objects(next)),
		"an edited object":    digest(testBasis, edited),
		"one object fewer":    digest(testBasis, f.objects(next)[:1]),
		"another environment": func() string {
			f.env.Name = "prod"
			defer func() { f.env.Name = "staging" }()
			return digest(testBasis, f.objects(next))
		}(),
	} {
		if got == base {
			t.Errorf("%s: digest unchanged", name)
		}
	}

	// A controller writes the Deployment's status: its resourceVersion and
	// managedFields move, nothing the reviewer saw does.
	deployments := f.kube.Client().AppsV1().Deployments(f.ns)
	status := []byte(`{"status":{"replicas":1,"unavailableReplicas":1,"observedGeneration":1}}`)
	if _, err := deployments.Patch(f.ctx(), "web", types.MergePatchType, status, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	if got := digest(testBasis, f.objects(next)); got != base {
		t.Error("a status write moved the digest")
	}
	// Someone edits the live spec: the diff the reviewer saw is not the
	// one apply would make.
	spec := []byte(`{"spec":{"paused":true}}`)
	if _, err := deployments.Patch(f.ctx(), "web", types.MergePatchType, spec, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := digest(testBasis, f.objects(next)); got == base {
		t.Error("a live spec change did not move the digest")
	}
}
