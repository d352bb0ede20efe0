package plan

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// The inventory of an environment is an ApplySet (KEP-3659, the format of
// `kubectl apply --applyset`): a parent ConfigMap named after the repository
// and the environment (InventoryName) holds the set's id and the group-kinds and namespaces its members live in, and
// every member carries the part-of label. Keeping it in the cluster rather
// than in slipway means deletions survive restarts and replica changes, and
// kubectl (or any ApplySet-aware tool) can read what slipway owns.
const (
	applySetIDLabel         = "applyset.kubernetes.io/id"
	applySetPartOfLabel     = "applyset.kubernetes.io/part-of"
	applySetToolingKey      = "applyset.kubernetes.io/tooling"
	applySetGroupKindsKey   = "applyset.kubernetes.io/contains-group-kinds"
	applySetNamespacesKey   = "applyset.kubernetes.io/additional-namespaces"
	applySetTooling         = "slipway/v1"
	applySetToolingName     = "slipway"
	inventoryNamePrefix     = "slipway-"
	inventoryEnvironmentKey = "slipway.dev/environment"

	// PruneAnnotation set to PruneDisabled on a live object keeps it out of
	// deletions even when it leaves the rendered set.
	PruneAnnotation = "slipway.dev/prune"
	PruneDisabled   = "disabled"
)

// listPageSize bounds one LIST response, so an environment with thousands of
// members does not make the apiserver build one huge reply.
const listPageSize = 500

// parent is an environment's ApplySet parent as found in the cluster.
type parent struct {
	name, namespace string
	id              string
	exists          bool
	groupKinds      []schema.GroupKind
	namespaces      []string // the parent's own namespace first, then the additional ones
	// recorded and environment are the repository and environment the
	// parent records (no repository: a legacy parent); uid and resourceVersion make changes to it
	// conditional on what was read.
	recorded, environment, uid, resourceVersion string
	// record is the parent's annotations as read, for WriteInventory to
	// tell whether a write would change anything (its id label was checked
	// on reading).
	record map[string]string
	// legacy is the environment's parent under its old name, being
	// adopted: its members are listed with this parent's, and an apply
	// moves them into it (see migrate.go). nil when there is none.
	legacy *parent
}

// members are the live objects carrying an ApplySet's part-of label, by
// identity.
type members map[objectKey]*unstructured.Unstructured

// objectKey identifies an object regardless of the API version it was read at.
type objectKey struct {
	group, kind, namespace, name string
}

func keyOf(u *unstructured.Unstructured) objectKey {
	gvk := u.GroupVersionKind()
	return objectKey{group: gvk.Group, kind: gvk.Kind, namespace: u.GetNamespace(), name: u.GetName()}
}

func (k objectKey) groupKind() schema.GroupKind {
	return schema.GroupKind{Group: k.group, Kind: k.kind}
}

// ApplySetID is the ApplySet id of the parent ConfigMap name/namespace,
// computed as the specification prescribes:
// applyset-<base64url(sha256(<name>.<namespace>.<kind>.<group>))>-v1.
// The name (InventoryName) carries the repository and the environment, so
// the id is derived from both.
func ApplySetID(name, namespace string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{name, namespace, "ConfigMap", ""}, ".")))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

// inventory identifies one environment's inventory: whose it is and where
// its parent lives.
type inventory struct {
	repo      string
	env       *repoconfig.Environment
	name      string // InventoryName(repo, env)
	legacy    string // the parent's name before it was keyed by repository
	namespace string
}

// inventoryOf is env's inventory for repository repo (owner/name).
func (e *Engine) inventoryOf(repo string, env *repoconfig.Environment) (inventory, error) {
	if repo == "" {
		return inventory{}, errors.New("no repository given: an environment's inventory is recorded per repository")
	}
	return inventory{repo: repo, env: env, name: InventoryName(repo, env.Name), legacy: legacyInventoryName(env.Name),
		namespace: e.InventoryNamespace(env)}, nil
}

// InventoryNamespace is the namespace env's inventory is recorded in; it
// has to exist before an apply can record anything.
func (e *Engine) InventoryNamespace(env *repoconfig.Environment) string {
	namespace := e.opts.InventoryNamespace
	if namespace == "" {
		namespace = env.Namespace
	}
	if namespace == "" {
		namespace = defaultNamespace
	}
	return namespace
}

// Inventory lists the objects slipway has applied for repository repo's
// environment env, as recorded in the cluster (members of a legacy parent
// being adopted included), sorted in plan order.
func (e *Engine) Inventory(ctx context.Context, repo string, env *repoconfig.Environment) ([]Ref, error) {
	inv, err := e.inventoryOf(repo, env)
	if err != nil {
		return nil, err
	}
	p, err := e.readParents(ctx, inv)
	if err != nil {
		return nil, err
	}
	ms, err := e.listMembers(ctx, p, p.legacy)
	if err != nil {
		return nil, err
	}
	refs := make([]Ref, 0, len(ms))
	for _, u := range ms {
		refs = append(refs, refOf(u))
	}
	sortRefs(refs)
	return refs, nil
}

// WriteInventory records refs as the ApplySet of repository repo's
// environment env: it creates or updates the parent ConfigMap with the
// group-kinds and namespaces refs span, and the repository and environment
// it belongs to. Members are labelled by the plan itself (see Compute), so
// this only writes the parent. A legacy parent being adopted is first
// marked as this repository's (see claimLegacy). Per the ApplySet
// specification, apply should write the union of the old and new sets
// before applying and the new set alone after pruning, so that an
// interrupted apply never leaves members outside the recorded group-kinds.
func (e *Engine) WriteInventory(ctx context.Context, repo string, env *repoconfig.Environment, refs []Ref) error {
	inv, err := e.inventoryOf(repo, env)
	if err != nil {
		return err
	}
	p, err := e.readParents(ctx, inv)
	if err != nil {
		return err // refuses a parent of another tool or another repository
	}
	if err := e.claimLegacy(ctx, inv, p.legacy); err != nil {
		return err
	}
	gks := sets.New[string]()
	nss := sets.New[string]()
	for _, r := range refs {
		gks.Insert(schema.GroupKind{Group: r.Group, Kind: r.Kind}.String())
		if r.Namespace != "" && r.Namespace != inv.namespace {
			nss.Insert(r.Namespace)
		}
	}
	annotations := map[string]string{
		applySetToolingKey:      applySetTooling,
		applySetGroupKindsKey:   strings.Join(sets.List(gks), ","),
		applySetNamespacesKey:   strings.Join(sets.List(nss), ","),
		inventoryRepositoryKey:  repo,
		inventoryEnvironmentKey: env.Name,
	}
	// An apply whose objects span the group-kinds and namespaces the parent
	// already records (most applies: steps 1 and 4 of apply.Run both, and
	// step 4 of a first apply that prunes nothing) would write it unchanged:
	// the ApplySet guarantee (no member outside the recorded group-kinds)
	// already holds, so the write is skipped. A legacy parent is adopted
	// (claimed above) by writing this one.
	if p.exists && p.legacy == nil && recorded(p.record, annotations) {
		return nil
	}
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetName(inv.name)
	cm.SetNamespace(inv.namespace)
	cm.SetLabels(map[string]string{applySetIDLabel: p.id})
	cm.SetAnnotations(annotations)
	err = e.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(cm),
		client.ForceOwnership, client.FieldOwner(e.opts.FieldManager))
	if err != nil {
		return fmt.Errorf("write inventory %s/%s: %w", inv.namespace, inv.name, err)
	}
	return nil
}

// readParents reads the parent of inv, and the legacy parent (the
// environment's old, repository-less name) when there is one to adopt. A
// missing parent (or namespace) is an empty inventory. It refuses a parent
// another tool manages, as the ApplySet specification asks, and a parent,
// current or legacy, that records another repository.
func (e *Engine) readParents(ctx context.Context, inv inventory) (*parent, error) {
	p, err := e.readParent(ctx, inv.name, inv.namespace, true)
	if err != nil {
		return nil, err
	}
	if p.exists && ownerOf(p.recorded, inv.repo) == ownedByOther {
		return nil, errOtherRepository(p.name, p.namespace, p.recorded, inv.repo)
	}
	old, err := e.readParent(ctx, inv.legacy, inv.namespace, false)
	if err != nil {
		return nil, err
	}
	// An environment named like another's current parent ("web-" and a
	// hash) could take that parent for its legacy one; the environment it
	// records tells them apart.
	if old.exists && old.environment == inv.env.Name {
		if ownerOf(old.recorded, inv.repo) == ownedByOther {
			return nil, errOtherRepository(old.name, old.namespace, old.recorded, inv.repo)
		}
		p.legacy = old
	}
	return p, nil
}

// readParent reads the parent ConfigMap name/namespace. Another tool's
// ConfigMap of that name is an error when strict, and otherwise no parent of
// slipway's (a legacy name is only slipway's if slipway wrote it).
func (e *Engine) readParent(ctx context.Context, name, namespace string, strict bool) (*parent, error) {
	p := &parent{name: name, namespace: namespace, id: ApplySetID(name, namespace)}
	var cm corev1.ConfigMap
	err := e.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory %s/%s: %w", namespace, name, err)
	}
	if tool, _, _ := strings.Cut(cm.Annotations[applySetToolingKey], "/"); tool != applySetToolingName {
		if !strict {
			return p, nil
		}
		return nil, fmt.Errorf("inventory %s/%s is managed by %q, not slipway: rename or remove it", namespace, name, cm.Annotations[applySetToolingKey])
	}
	if got := cm.Labels[applySetIDLabel]; got != p.id {
		return nil, fmt.Errorf("inventory %s/%s has ApplySet id %q, want %q: was it copied from another namespace?", namespace, name, got, p.id)
	}
	p.exists = true
	p.record = cm.Annotations
	p.recorded = cm.Annotations[inventoryRepositoryKey]
	p.environment = cm.Annotations[inventoryEnvironmentKey]
	p.uid, p.resourceVersion = string(cm.UID), cm.ResourceVersion
	p.namespaces = []string{namespace}
	for _, s := range splitList(cm.Annotations[applySetGroupKindsKey]) {
		p.groupKinds = append(p.groupKinds, schema.ParseGroupKind(s))
	}
	p.namespaces = append(p.namespaces, splitList(cm.Annotations[applySetNamespacesKey])...)
	return p, nil
}

// listMembers lists every object labelled as part of the parents that
// exist (nil ones are skipped), one LIST per group-kind and namespace, which
// is how kubectl finds ApplySet members. A group-kind the cluster no longer
// serves (its CRD was removed) has no members left to find. An object
// carries one part-of label, so it is a member of one parent at most.
func (e *Engine) listMembers(ctx context.Context, parents ...*parent) (members, error) {
	return e.listMembersSettled(ctx, nil, parents...)
}

// listMembersSettled is listMembers with every object passed through settle
// (nil: kept as listed) as its page arrives, so that a plan of thousands of
// objects need not hold them all in full at once (see Engine.settler).
func (e *Engine) listMembersSettled(ctx context.Context, settle func(*unstructured.Unstructured) *unstructured.Unstructured, parents ...*parent) (members, error) {
	ms := members{}
	type listing struct {
		parent    *parent
		mapping   *meta.RESTMapping
		namespace string
	}
	var lists []listing
	// A hand-edited parent may name a group-kind or namespace twice; each
	// object is listed once all the same (settle may not see one twice).
	type once struct {
		p         *parent
		gk        schema.GroupKind
		namespace string
	}
	seen := map[once]bool{}
	add := func(l listing) {
		k := once{l.parent, l.mapping.GroupVersionKind.GroupKind(), l.namespace}
		if !seen[k] {
			seen[k] = true
			lists = append(lists, l)
		}
	}
	for _, p := range parents {
		if p == nil || !p.exists {
			continue
		}
		for _, gk := range p.groupKinds {
			m, err := e.mapper.RESTMapping(gk)
			if meta.IsNoMatchError(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("inventory %s/%s: map %s: %w", p.namespace, p.name, gk, err)
			}
			if m.Scope.Name() == meta.RESTScopeNameRoot {
				add(listing{parent: p, mapping: m})
				continue
			}
			for _, ns := range p.namespaces {
				add(listing{parent: p, mapping: m, namespace: ns})
			}
		}
	}
	results := make([][]*unstructured.Unstructured, len(lists))
	err := e.parallel(ctx, len(lists), func(ctx context.Context, i int) error {
		l := lists[i]
		err := e.listPages(ctx, l.mapping.GroupVersionKind, l.namespace, client.MatchingLabels{applySetPartOfLabel: l.parent.id}, func(u *unstructured.Unstructured) {
			if settle != nil {
				u = settle(u)
			}
			results[i] = append(results[i], u)
		})
		if err != nil {
			return fmt.Errorf("inventory %s/%s: %w", l.parent.namespace, l.parent.name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, us := range results {
		for _, u := range us {
			ms[keyOf(u)] = u
		}
	}
	return ms, nil
}

// recorded reports whether record holds every key of want with its value.
func recorded(record, want map[string]string) bool {
	for k, v := range want {
		if got, ok := record[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// sortRefs puts refs in plan order.
func sortRefs(refs []Ref) {
	sort.SliceStable(refs, func(i, j int) bool { return refLess(refs[i], refs[j]) })
}
