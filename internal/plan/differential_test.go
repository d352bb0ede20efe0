package plan

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// seedVariable replays a run of the differential test.
const seedVariable = "SLIPWAY_DIFF_SEED"

// diffCases is how many randomized cases one run plans, in one
// environment: one apply, one round of edits, two plans.
const diffCases = 520

// The fast path must never change a plan: for randomized objects that
// slipway applied (or another tool created) and that were then edited in
// the cluster or in the repository, the plan with the fast path and the
// plan that dry-runs every object (verify: all) are identical, change by
// change and digest for digest. A mutating admission webhook injects an
// annotation into some of them on every apply. A failure names the seed:
// SLIPWAY_DIFF_SEED=<seed> replays it.
func TestFastPathMatchesDryRun(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(seedVariable); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: want a number", seedVariable, s)
		}
	}
	replay := fmt.Sprintf("(replay: %s=%d)", seedVariable, seed)
	t.Logf("seed %d %s", seed, replay)
	r := rand.New(rand.NewPCG(seed, seed))

	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	installGadgets(t, f)
	injectAnnotations(t, f)

	cases := make([]*diffCase, diffCases)
	for i := range cases {
		cases[i] = newCase(r, i, f.ns)
	}
	// Another tool's objects first, then slipway's apply, then the edits.
	dyn := f.kube.Dynamic()
	var applied []render.Object
	for _, c := range cases {
		if c.foreign != nil {
			u := &unstructured.Unstructured{Object: clone(c.foreign)}
			if _, err := dyn.Resource(gvrOf(u)).Namespace(f.ns).Create(ctx, u, metav1.CreateOptions{FieldManager: "other-tool"}); err != nil {
				t.Fatalf("%s: create as another tool: %v %s", c.name, err, replay)
			}
		}
		if c.applied != nil {
			applied = append(applied, render.Object{Object: &unstructured.Unstructured{Object: clone(c.applied)}, File: c.name})
		}
	}
	f.apply(applied)
	for _, c := range cases {
		if c.edit != nil {
			if err := c.edit.send(ctx, dyn, c.desiredOrApplied()); err != nil {
				t.Fatalf("%s: edit by %s: %v %s", c.name, c.edit.manager, err, replay)
			}
		}
	}

	var rendered []render.Object
	env := *f.env
	for _, c := range cases {
		if c.desired != nil {
			rendered = append(rendered, render.Object{Object: &unstructured.Unstructured{Object: clone(c.desired)}, File: c.name, Line: 1})
		}
		if len(c.ignore) > 0 {
			env.Ignore = append(env.Ignore, repoconfig.Ignore{Name: c.name, Paths: c.ignore})
		}
	}
	verifyAll := env
	verifyAll.Plan.Verify = repoconfig.VerifyAll

	engine, counter := f.countingEngine(t, Options{MaskKey: []byte("differential")})
	basis := Basis{Repository: f.repo, Commit: "c0ffee"}
	plan := func(env *repoconfig.Environment) (*Plan, map[string]int) {
		start := time.Now()
		p, err := engine.Compute(ctx, env, basis, &render.Result{Objects: rendered})
		if err != nil {
			t.Fatalf("plan: %v %s", err, replay)
		}
		requests := counter.reset()
		t.Logf("verify %q: %+v in %s, requests %v", env.Plan.Verify, p.Counts(), time.Since(start).Round(time.Millisecond), requests)
		return p, requests
	}
	plan(&verifyAll) // discovery, so both plans below count only their own requests
	slow, slowRequests := plan(&verifyAll)
	fast, fastRequests := plan(&env)

	byName := map[string]*diffCase{}
	for _, c := range cases {
		byName[c.name] = c
	}
	if len(fast.Changes) != len(slow.Changes) {
		t.Fatalf("fast path: %d changes, dry-run: %d %s", len(fast.Changes), len(slow.Changes), replay)
	}
	for i, got := range fast.Changes {
		want := slow.Changes[i]
		if got != want {
			c := byName[want.Ref.Name]
			t.Errorf("%s (scenario %s): the fast path planned\n%s\nthe dry-run\n%s\n%s", want.Ref, c.scenario, show(got), show(want), replay)
		}
	}
	if fast.Digest != slow.Digest {
		t.Errorf("digests differ: fast path %s, dry-run %s %s", fast.Digest, slow.Digest, replay)
	}
	tally := map[string]map[Action]int{}
	for _, ch := range slow.Changes {
		sc := byName[ch.Ref.Name].scenario
		if tally[sc] == nil {
			tally[sc] = map[Action]int{}
		}
		tally[sc][ch.Action]++
		if ch.Action == Error {
			t.Logf("%s: %s", ch.Ref, ch.Message)
		}
	}
	t.Logf("actions by scenario: %v", tally)
	// Not vacuous: every kind of change happened, and the fast path spared
	// the dry-runs of at least the cases nothing happened to.
	c := slow.Counts()
	if c.Update < diffCases/5 || c.Delete == 0 || c.Unchanged < diffCases/5 {
		t.Errorf("counts %+v: want updates, deletions and unchanged objects %s", c, replay)
	}
	spared := slowRequests[http.MethodPatch] - fastRequests[http.MethodPatch]
	if spared < c.Unchanged/2 {
		t.Errorf("the fast path dry-ran %d objects, the full dry-run %d: it spared too few of the %d unchanged %s",
			fastRequests[http.MethodPatch], slowRequests[http.MethodPatch], c.Unchanged, replay)
	}
	t.Logf("%d cases: %+v; the fast path dry-ran %d of %d objects", diffCases, c, fastRequests[http.MethodPatch], len(rendered))
}

// desiredOrApplied is the object as the cluster knows it, to address an edit.
func (c *diffCase) desiredOrApplied() map[string]any {
	if c.applied != nil {
		return c.applied
	}
	return c.foreign
}

func show(ch Change) string {
	b, _ := json.MarshalIndent(ch, "", "  ")
	return string(b)
}

// installGadgets installs the Gadget CRD: a defaulted field, a set, a map
// list with an int-or-string, and a free-form field.
func installGadgets(t *testing.T, f *fixture) {
	t.Helper()
	crd := f.objects(strings.ReplaceAll(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.GROUP}
spec:
  group: GROUP
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string, default: blue}
              tags: {type: array, items: {type: string}, x-kubernetes-list-type: set}
              parts:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    count: {type: integer}
                    limit: {x-kubernetes-int-or-string: true}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, "GROUP", diffGroup))
	crdEnv := *f
	crdEnv.env = &repoconfig.Environment{Name: "crds", Namespace: f.ns}
	crdEnv.apply(crd)
}

// injectAnnotations runs a mutating admission webhook that annotates every
// ConfigMap labelled inject=yes in the fixture's namespace on every create
// and update, dry-runs included, and waits until the apiserver calls it.
func injectAnnotations(t *testing.T, f *fixture) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(req.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		var obj struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		_ = json.Unmarshal(review.Request.Object.Raw, &obj)
		op := map[string]any{"op": "add", "path": "/metadata/annotations/diff.slipway.test~1injected", "value": "yes"}
		if obj.Metadata.Annotations == nil {
			op = map[string]any{"op": "add", "path": "/metadata/annotations", "value": map[string]string{"diff.slipway.test/injected": "yes"}}
		}
		patch, _ := json.Marshal([]any{op})
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Patch: patch,
			PatchType: ptr.To(admissionv1.PatchTypeJSONPatch)}
		review.Request = nil
		_ = json.NewEncoder(w).Encode(review)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	name := "inject-" + f.ns
	config := &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregv1.MutatingWebhook{{
			Name:         "inject.diff.slipway.test",
			ClientConfig: admissionregv1.WebhookClientConfig{URL: ptr.To(srv.URL + "/mutate"), CABundle: ca},
			Rules: []admissionregv1.RuleWithOperations{{
				Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
				Rule:       admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": f.ns}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"inject": "yes"}},
			SideEffects:             ptr.To(admissionregv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			FailurePolicy:           ptr.To(admissionregv1.Fail),
			TimeoutSeconds:          ptr.To(int32(10)),
		}},
	}
	api := f.kube.Client().AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := api.Create(t.Context(), config, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Labels: map[string]string{"inject": "yes"}}}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got, err := f.kube.Client().CoreV1().ConfigMaps(f.ns).Create(t.Context(), probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && got.Annotations["diff.slipway.test/injected"] == "yes" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook was not called within 30s: %v", err)
		}
	}
}
