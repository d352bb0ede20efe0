package plan

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// The randomized cases of the differential test: each is one object that
// slipway applied (or another tool created), then something happened to it
// in the cluster or in the repository, and is then planned.

// diffGroup is the group of the test's custom resource, Gadget.
const diffGroup = "diff.slipway.test"

// diffCase is one object's story.
type diffCase struct {
	name, scenario string
	applied        map[string]any // what slipway applied first; nil when another tool created it
	foreign        map[string]any // created by another tool (adoption); nil otherwise
	edit           *liveEdit      // a change in the cluster after the apply; nil for none
	desired        map[string]any // rendered at plan time; nil: dropped from the render
	ignore         []string       // JSON pointers the environment ignores for it
}

// liveEdit is a merge patch another field manager sends, to the object or
// to one of its subresources.
type liveEdit struct {
	manager, subresource string
	patch                map[string]any
}

func (e *liveEdit) send(ctx context.Context, dyn dynamic.Interface, u map[string]any) error {
	obj := &unstructured.Unstructured{Object: u}
	data, err := json.Marshal(e.patch)
	if err != nil {
		return err
	}
	var sub []string
	if e.subresource != "" {
		sub = []string{e.subresource}
	}
	_, err = dyn.Resource(gvrOf(obj)).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, data,
		metav1.PatchOptions{FieldManager: e.manager}, sub...)
	return err
}

func gvrOf(u *unstructured.Unstructured) schema.GroupVersionResource {
	gv := u.GroupVersionKind().GroupVersion()
	resource := map[string]string{"ConfigMap": "configmaps", "Secret": "secrets", "Deployment": "deployments",
		"Service": "services", "Gadget": "gadgets"}[u.GetKind()]
	return gv.WithResource(resource)
}

// scenarios, each with the kinds it applies to; a kind it does not fit
// gets "unchanged" instead.
var scenarios = []string{
	"unchanged", "unchanged", "value", "removed", "added", "label-added", "label-removed", "annotation-added", "annotation-removed",
	"hand-edit", "hand-label", "scale", "defaulted", "spelling", "spelling-applied", "ignored", "adopted", "dropped",
	"webhook",
}

// newCase draws case i: a kind, its content and a scenario.
func newCase(r *rand.Rand, i int, ns string) *diffCase {
	kinds := []string{"ConfigMap", "Secret", "Deployment", "Service", "Gadget"}
	kind := kinds[r.IntN(len(kinds))]
	sc := scenarios[r.IntN(len(scenarios))]
	if sc == "webhook" {
		kind = "ConfigMap"
	}
	c := &diffCase{name: fmt.Sprintf("c%03d-%s", i, sc), scenario: sc}
	base := generate(r, kind, c.name, ns)
	if sc == "webhook" {
		metadataOf(base)["labels"].(map[string]any)["inject"] = "yes"
		if r.IntN(2) == 0 {
			sc = "value" // a webhook-mutated object whose manifest changes too
		} else {
			sc = "unchanged"
		}
	}
	c.applied, c.desired = base, clone(base)
	if !c.apply(r, kind, sc) {
		c.scenario = "unchanged"
		c.applied, c.desired, c.edit, c.foreign, c.ignore = base, clone(base), nil, nil, nil
	}
	if kind == "Secret" && c.desired != nil && r.IntN(2) == 0 {
		asStringData(c.desired) // the plan folds it back into data
	}
	// Named for the scenario it ended up with, so a failure says it.
	c.name = fmt.Sprintf("c%03d-%s", i, c.scenario)
	for _, u := range []map[string]any{c.applied, c.foreign, c.desired} {
		if u != nil {
			metadataOf(u)["name"] = c.name
		}
	}
	return c
}

func asStringData(u map[string]any) {
	sd := map[string]any{}
	for k, v := range u["data"].(map[string]any) {
		b, _ := base64.StdEncoding.DecodeString(v.(string))
		sd[k] = string(b)
	}
	delete(u, "data")
	u["stringData"] = sd
}

// apply turns the case into scenario sc; false when sc does not fit kind.
func (c *diffCase) apply(r *rand.Rand, kind, sc string) bool {
	d := c.desired
	switch sc {
	case "unchanged":
	case "value":
		return setLeaf(r, kind, d, fmt.Sprint("changed-", r.IntN(1000)), int64(r.IntN(50)+3))
	case "removed":
		return removeField(r, kind, d)
	case "added":
		return addField(r, kind, d)
	case "label-added":
		metadataOf(d)["labels"].(map[string]any)[fmt.Sprint("new-", r.IntN(9))] = "x"
	case "label-removed":
		metadataOf(c.applied)["labels"].(map[string]any)["tier"] = "front"
	case "annotation-added":
		metadataOf(d)["annotations"] = map[string]any{"note": fmt.Sprint("n", r.IntN(9))}
	case "annotation-removed":
		metadataOf(c.applied)["annotations"] = map[string]any{"note": "gone", "keep": "kept"}
		metadataOf(d)["annotations"] = map[string]any{"keep": "kept"}
	case "hand-edit":
		patch := clone(d)
		delete(patch, "apiVersion")
		delete(patch, "kind")
		delete(patch, "metadata")
		if !setLeaf(r, kind, patch, "edited", int64(r.IntN(50)+3)) {
			return false
		}
		c.edit = &liveEdit{manager: "kubectl-edit", patch: onlyChanged(d, patch)}
	case "hand-label":
		c.edit = &liveEdit{manager: "kubectl-label", patch: map[string]any{"metadata": map[string]any{"labels": map[string]any{"team": "ops"}}}}
	case "scale":
		if kind != "Deployment" {
			return false
		}
		c.edit = &liveEdit{manager: "kubectl-scale", subresource: "scale", patch: map[string]any{"spec": map[string]any{"replicas": int64(r.IntN(5) + 5)}}}
	case "defaulted":
		return setDefault(kind, d)
	case "spelling":
		return respell(kind, c.applied, d)
	case "spelling-applied":
		if kind == "Service" || !respell(kind, c.applied, d) {
			return false
		}
		c.applied = clone(d) // applied as 0.5, stored as 500m: the render still says 0.5
	case "ignored":
		switch kind {
		case "Deployment":
			c.ignore = []string{"/spec/replicas"}
			c.edit = &liveEdit{manager: "kubectl-scale", subresource: "scale", patch: map[string]any{"spec": map[string]any{"replicas": int64(9)}}}
			d["spec"].(map[string]any)["replicas"] = int64(r.IntN(3) + 1)
		case "ConfigMap":
			c.ignore = []string{"/data/k0"}
			c.edit = &liveEdit{manager: "kubectl-edit", patch: map[string]any{"data": map[string]any{"k0": "hand"}}}
			d["data"].(map[string]any)["k0"] = "rendered"
		default:
			return false
		}
	case "adopted":
		c.foreign, c.applied = clone(d), nil
		if r.IntN(3) == 0 {
			setLeaf(r, kind, d, "adopted-and-changed", int64(7))
		}
	case "dropped":
		c.desired = nil
	default:
		return false
	}
	return true
}

// generate draws an object of kind named name in namespace ns.
func generate(r *rand.Rand, kind, name, ns string) map[string]any {
	u := map[string]any{"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app": name}}}
	switch kind {
	case "ConfigMap", "Secret":
		u["apiVersion"], u["kind"] = "v1", kind
		data := map[string]any{}
		for k := range r.IntN(3) + 1 {
			v := fmt.Sprint("value-", r.IntN(100))
			if kind == "Secret" {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			data[fmt.Sprint("k", k)] = v
		}
		u["data"] = data
	case "Deployment":
		u["apiVersion"], u["kind"] = "apps/v1", kind
		containers := []any{}
		for k := range r.IntN(2) + 1 {
			ct := map[string]any{"name": fmt.Sprint("c", k), "image": fmt.Sprintf("registry.example/app:%d", r.IntN(9))}
			if r.IntN(2) == 0 {
				ct["ports"] = []any{map[string]any{"containerPort": int64(8080 + k)}} // protocol defaulted: a key field
			}
			if r.IntN(2) == 0 {
				ct["resources"] = map[string]any{"limits": map[string]any{"cpu": "500m", "memory": "128Mi"}}
			}
			containers = append(containers, ct)
		}
		labels := map[string]any{"app": name}
		u["spec"] = map[string]any{"replicas": int64(r.IntN(3) + 1), "selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{"metadata": map[string]any{"labels": clone(labels)}, "spec": map[string]any{"containers": containers}}}
	case "Service":
		u["apiVersion"], u["kind"] = "v1", kind
		ports := []any{map[string]any{"name": "http", "port": int64(80), "targetPort": int64(8080)}}
		if r.IntN(2) == 0 {
			ports = append(ports, map[string]any{"name": "metrics", "port": int64(9090)}) // targetPort defaulted
		}
		u["spec"] = map[string]any{"selector": map[string]any{"app": name}, "ports": ports}
	case "Gadget":
		u["apiVersion"], u["kind"] = diffGroup+"/v1", kind
		spec := map[string]any{"size": int64(r.IntN(9) + 1), "tags": []any{"a", "b"},
			"parts": []any{map[string]any{"name": "p0", "count": int64(1), "limit": int64(5)}}}
		if r.IntN(2) == 0 {
			spec["extra"] = map[string]any{"free": map[string]any{"form": []any{int64(1), "two"}}}
		}
		u["spec"] = spec
	}
	return u
}

// setLeaf changes one value the object sets (s for strings, n for numbers).
func setLeaf(r *rand.Rand, kind string, u map[string]any, s string, n int64) bool {
	switch kind {
	case "ConfigMap":
		u["data"].(map[string]any)["k0"] = s
	case "Secret":
		u["data"].(map[string]any)["k0"] = base64.StdEncoding.EncodeToString([]byte(s))
	case "Deployment":
		if r.IntN(2) == 0 {
			u["spec"].(map[string]any)["replicas"] = n
		} else {
			container(u, 0)["image"] = "registry.example/app:" + s
		}
	case "Service":
		port(u, 0)["targetPort"] = n + 1000 // not port: a key, whose change can clash with a live port's name
	case "Gadget":
		spec := u["spec"].(map[string]any)
		if r.IntN(2) == 0 {
			spec["size"] = n
		} else {
			spec["parts"].([]any)[0].(map[string]any)["count"] = n
		}
	default:
		return false
	}
	return true
}

func removeField(r *rand.Rand, kind string, u map[string]any) bool {
	switch kind {
	case "ConfigMap", "Secret":
		data := u["data"].(map[string]any)
		if len(data) < 2 {
			return false
		}
		delete(data, "k1")
	case "Deployment":
		if _, ok := container(u, 0)["resources"]; ok && r.IntN(2) == 0 {
			delete(container(u, 0), "resources")
		} else {
			delete(u["spec"].(map[string]any), "replicas")
		}
	case "Service":
		delete(port(u, 0), "targetPort")
	case "Gadget":
		spec := u["spec"].(map[string]any)
		if r.IntN(2) == 0 {
			delete(spec, "tags")
		} else {
			delete(spec["parts"].([]any)[0].(map[string]any), "limit")
		}
	default:
		return false
	}
	return true
}

func addField(r *rand.Rand, kind string, u map[string]any) bool {
	switch kind {
	case "ConfigMap", "Secret":
		v := "added"
		if kind == "Secret" {
			v = base64.StdEncoding.EncodeToString([]byte(v))
		}
		u["data"].(map[string]any)["new"] = v
	case "Deployment":
		u["spec"].(map[string]any)["minReadySeconds"] = int64(r.IntN(5) + 1)
	case "Service":
		u["spec"].(map[string]any)["publishNotReadyAddresses"] = true
	case "Gadget":
		spec := u["spec"].(map[string]any)
		spec["parts"] = append(spec["parts"].([]any), map[string]any{"name": "p1", "count": int64(2)})
	default:
		return false
	}
	return true
}

// setDefault writes a field the apiserver defaults, with its default.
func setDefault(kind string, u map[string]any) bool {
	switch kind {
	case "Deployment":
		u["spec"].(map[string]any)["revisionHistoryLimit"] = int64(10)
		u["spec"].(map[string]any)["progressDeadlineSeconds"] = int64(600)
	case "Service":
		u["spec"].(map[string]any)["sessionAffinity"] = "None"
		port(u, 0)["protocol"] = "TCP"
	case "Gadget":
		u["spec"].(map[string]any)["color"] = "blue"
	case "Secret":
		u["type"] = "Opaque"
	default:
		return false
	}
	return true
}

// respell writes a value of desired in another spelling the apiserver
// stores differently (a quantity) or keeps as written (int or string).
func respell(kind string, applied, desired map[string]any) bool {
	switch kind {
	case "Deployment":
		res := map[string]any{"limits": map[string]any{"cpu": "500m", "memory": "128Mi"}}
		container(applied, 0)["resources"] = res
		container(desired, 0)["resources"] = map[string]any{"limits": map[string]any{"cpu": "0.5", "memory": "131072Ki"}}
		desired["spec"].(map[string]any)["replicas"] = float64(applied["spec"].(map[string]any)["replicas"].(int64))
	case "Service":
		port(desired, 0)["targetPort"] = "web" // a named port: a digit string is refused
	case "Gadget":
		desired["spec"].(map[string]any)["parts"].([]any)[0].(map[string]any)["limit"] = "5"
	default:
		return false
	}
	return true
}

func metadataOf(u map[string]any) map[string]any { return u["metadata"].(map[string]any) }

func container(u map[string]any, i int) map[string]any {
	return u["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[i].(map[string]any)
}

func port(u map[string]any, i int) map[string]any {
	return u["spec"].(map[string]any)["ports"].([]any)[i].(map[string]any)
}

// onlyChanged is the part of patch that differs from base, as a merge
// patch (lists whole).
func onlyChanged(base, patch map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range patch {
		bv := base[k]
		if jsonEqual(bv, v) {
			continue
		}
		vm, ok1 := v.(map[string]any)
		bm, ok2 := bv.(map[string]any)
		if ok1 && ok2 {
			out[k] = onlyChanged(bm, vm)
		} else {
			out[k] = v
		}
	}
	return out
}

func clone(u map[string]any) map[string]any {
	if u == nil {
		return nil
	}
	return runtimeDeepCopy(u)
}

func runtimeDeepCopy(u map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: u}).DeepCopy().Object
}
