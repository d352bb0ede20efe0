package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/render"
)

// chartHooks are a chart's hooks of every sort. NS is the namespace.
const chartHooks = `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, annotations: {helm.sh/hook: "pre-install, pre-upgrade", helm.sh/hook-weight: "5"}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: example.invalid/m:1}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, annotations: {helm.sh/hook: pre-upgrade, helm.sh/hook-weight: "-1", helm.sh/hook-delete-policy: "hook-succeeded,before-hook-creation"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: seed, annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: "-1"}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: notify, annotations: {helm.sh/hook: "post-install,post-upgrade"}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: notify, image: example.invalid/n:1}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: smoke, annotations: {helm.sh/hook: test}}
spec: {containers: [{name: t, image: example.invalid/t:1}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: cleanup, annotations: {helm.sh/hook: pre-delete}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: example.invalid/c:1}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: odd, annotations: {helm.sh/hook: pre-instal}}
`

func hookNames(hs []Hook) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s %s/%s %d %s", h.Event, h.Ref.Kind, h.Ref.Name, h.Weight, strings.Join(h.DeletePolicies, ",")))
	}
	return out
}

func skippedNames(p *Plan) []string {
	var out []string
	for _, s := range p.Skipped {
		out = append(out, s.Ref.Name+": "+s.Message)
	}
	return out
}

// An environment without an inventory runs the install hooks, one with it
// the upgrade hooks, each phase in Helm's order (weight, then name); test,
// delete and unknown hooks never run, and the plan says why.
func TestHooksInstallAndUpgrade(t *testing.T) {
	f := newFixture(t)
	hooks := f.objects(chartHooks)
	for _, o := range hooks {
		o.Object.SetNamespace(f.ns)
	}
	release := f.objects("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: NS}\n")
	compute := func() (*Plan, []*unstructured.Unstructured) {
		t.Helper()
		p, objs, err := f.engine.ComputeWithObjects(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: release, Skipped: hooks})
		if err != nil {
			t.Fatal(err)
		}
		return p, objs
	}

	install, objs := compute()
	wantRun := []string{
		"pre-install ConfigMap/seed -1 before-hook-creation",
		"pre-install Job/migrate 5 before-hook-creation",
		"post-install Job/notify 0 before-hook-creation",
	}
	if got := hookNames(install.Hooks); !slices.Equal(got, wantRun) {
		t.Errorf("install hooks\n %q\nwant\n %q", got, wantRun)
	}
	wantSkipped := []string{
		"odd: Helm hook of unknown type \"pre-instal\": never run (helm skips it too)",
		"settings: Helm pre-upgrade hook: not run, this apply installs the environment (it has no inventory yet)",
		"smoke: Helm test hook: slipway never runs test hooks",
		"cleanup: Helm pre-delete hook: slipway never runs delete or rollback hooks",
	}
	if got := skippedNames(install); !slices.Equal(got, wantSkipped) {
		t.Errorf("install skipped\n %q\nwant\n %q", got, wantSkipped)
	}
	var sent []string
	for _, u := range objs {
		sent = append(sent, u.GetKind()+"/"+u.GetName())
	}
	if want := []string{"ConfigMap/app", "ConfigMap/seed", "Job/migrate", "Job/notify"}; !slices.Equal(sent, want) {
		t.Errorf("objects to send %q, want %q (hooks that run, once each, without the ApplySet label)", sent, want)
	}
	for _, u := range objs[1:] {
		if len(u.GetLabels()) != 0 {
			t.Errorf("hook %s labelled %v: an inventory member would be pruned", u.GetName(), u.GetLabels())
		}
	}

	f.apply(release) // the inventory exists from now on: an upgrade
	upgrade, _ := compute()
	wantRun = []string{
		"pre-upgrade ConfigMap/settings -1 hook-succeeded,before-hook-creation",
		"pre-upgrade Job/migrate 5 before-hook-creation",
		"post-upgrade Job/notify 0 before-hook-creation",
	}
	if got := hookNames(upgrade.Hooks); !slices.Equal(got, wantRun) {
		t.Errorf("upgrade hooks\n %q\nwant\n %q", got, wantRun)
	}
	if got := skippedNames(upgrade); !slices.Contains(got, "seed: Helm pre-install hook: not run, this apply upgrades the environment (its inventory exists)") {
		t.Errorf("upgrade skipped %q", got)
	}
	if install.Digest == upgrade.Digest {
		t.Error("install and upgrade plans share a digest although they run different hooks")
	}
}

// The digest covers every hook that runs: what it sends, its weight (its
// place in the order) and its delete policy.
func TestHookDigest(t *testing.T) {
	f := newFixture(t)
	digest := func(hook string) string {
		t.Helper()
		p, err := f.engine.Compute(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Skipped: f.objects(hook)})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Hooks) != 1 {
			t.Fatalf("hooks %v", hookNames(p.Hooks))
		}
		return p.Digest
	}
	base := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: h, namespace: NS, annotations: {helm.sh/hook: pre-install%s}}\ndata: {k: %s}\n"
	seen := map[string]string{}
	for name, text := range map[string]string{
		"base":   fmt.Sprintf(base, "", "v1"),
		"data":   fmt.Sprintf(base, "", "v2"),
		"weight": fmt.Sprintf(base, `, helm.sh/hook-weight: "3"`, "v1"),
		"policy": fmt.Sprintf(base, `, helm.sh/hook-delete-policy: hook-succeeded`, "v1"),
	} {
		d := digest(text)
		if other, ok := seen[d]; ok {
			t.Errorf("%s and %s share a digest", name, other)
		}
		seen[d] = name
	}
	if digest(fmt.Sprintf(base, "", "v1")) != digest(fmt.Sprintf(base, "", "v1")) {
		t.Error("the same hook planned twice has two digests")
	}
}

// A hook that runs is held to the server config's bounds like any object:
// one out of bounds is an Error change (so the plan cannot be applied) and
// is not sent; so is one that would overwrite an object of the release.
// Hooks that never run are only listed.
func TestHooksConfined(t *testing.T) {
	f := newFixture(t)
	f.engine = f.engine.Confined(func(ref Ref) error {
		if ref.Namespace == "kube-system" {
			return fmt.Errorf("namespace kube-system is not allowed")
		}
		return nil
	})
	hooks := f.objects(`
apiVersion: batch/v1
kind: Job
metadata: {name: sneaky, namespace: kube-system, annotations: {helm.sh/hook: pre-install}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: example.invalid/m:1}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: NS, annotations: {helm.sh/hook: post-install}}
---
apiVersion: v1
kind: Pod
metadata: {name: test-only, namespace: kube-system, annotations: {helm.sh/hook: test}}
spec: {containers: [{name: t, image: example.invalid/t:1}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: twin, namespace: NS, annotations: {helm.sh/hook: pre-install}}
data: {which: first}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: twin, namespace: NS, annotations: {helm.sh/hook: post-install}}
data: {which: second}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: labelled
  namespace: NS
  annotations: {helm.sh/hook: pre-install}
  labels: {applyset.kubernetes.io/part-of: applyset-someone-elses}
`)
	release := f.objects("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: NS}\n")
	p, objs, err := f.engine.ComputeWithObjects(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Objects: release, Skipped: hooks})
	if err != nil {
		t.Fatal(err)
	}
	if got := hookNames(p.Hooks); !slices.Equal(got, []string{"pre-install ConfigMap/labelled 0 before-hook-creation"}) {
		t.Errorf("hooks to run: %q", got)
	}
	for _, u := range objs {
		if u.GetName() == "labelled" && len(u.GetLabels()) != 0 {
			t.Errorf("hook sent with labels %v: an inventory would take it for a member", u.GetLabels())
		}
	}
	twins := 0
	for _, ch := range p.Changes {
		if ch.Ref.Name == "twin" && ch.Action == Error && strings.Contains(ch.Message, "another hook that runs has the same kind, namespace and name") {
			twins++
		}
	}
	if twins != 2 {
		t.Errorf("two hooks of one identity are not both refused: %v", summary(p))
	}
	sneaky := change(t, p, "Job", "sneaky")
	wantAction(t, sneaky, Error)
	if !strings.Contains(sneaky.Message, "Helm pre-install hook: namespace kube-system is not allowed") {
		t.Errorf("message %q", sneaky.Message)
	}
	var appErr bool
	for _, ch := range p.Changes {
		if ch.Ref.Name == "app" && ch.Action == Error && strings.Contains(ch.Message, "identity of an object of the release") {
			appErr = true
		}
	}
	if !appErr {
		t.Errorf("the hook named like a release object is not refused: %v", summary(p))
	}
	for _, u := range objs {
		if u.GetName() == "sneaky" {
			t.Error("the refused hook is among the objects to send")
		}
	}
	if got := skippedNames(p); len(got) != 1 || !strings.HasPrefix(got[0], "test-only: ") {
		t.Errorf("skipped %q", got)
	}
}

// A hook the cluster would refuse is an Error change at plan time (a
// dry-run create, as the engine's identity), not a surprise half-way
// through an apply; a hook the dry-run cannot judge yet (its namespace
// does not exist before the apply) is left to the apply.
func TestHooksDryRun(t *testing.T) {
	f := newFixture(t)
	hooks := f.objects(`
apiVersion: batch/v1
kind: Job
metadata: {name: invalid, namespace: NS, annotations: {helm.sh/hook: "pre-install,post-install"}}
spec: {template: {spec: {restartPolicy: Always, containers: [{name: m, image: example.invalid/m:1}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: fine, namespace: NS, annotations: {helm.sh/hook: pre-install}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: example.invalid/m:1}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: later, namespace: NS-new, annotations: {helm.sh/hook: post-install}}
`)
	p, objs, err := f.engine.ComputeWithObjects(f.ctx(), f.env, Basis{Repository: f.repo, Commit: "c0ffee"}, &render.Result{Skipped: hooks})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hookNames(p.Hooks), []string{"pre-install Job/fine 0 before-hook-creation", "post-install ConfigMap/later 0 before-hook-creation"}; !slices.Equal(got, want) {
		t.Errorf("hooks %q, want %q", got, want)
	}
	invalid := change(t, p, "Job", "invalid")
	wantAction(t, invalid, Error)
	if !strings.Contains(invalid.Message, "Helm pre-install hook: the cluster refuses it (dry-run)") || !strings.Contains(invalid.Message, "restartPolicy") {
		t.Errorf("message %q", invalid.Message)
	}
	for _, u := range objs {
		if u.GetName() == "invalid" {
			t.Error("the refused hook is among the objects to send")
		}
	}
	if n := len(summary(p)); n != 1 {
		t.Errorf("changes %v, want the refused hook once", summary(p))
	}
}
