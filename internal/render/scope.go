package render

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Scoper says whether a kind is namespaced. For a kind it does not know it
// returns an error for which meta.IsNoMatchError is true.
type Scoper interface {
	Namespaced(gvk schema.GroupVersionKind) (bool, error)
}

// rediscoverAfter is how stale the discovery cache may be before a kind it
// does not know makes it ask the cluster again: a CRD installed since may
// have brought the kind, but a render full of unknown kinds must not cost a
// full discovery each.
const rediscoverAfter = 5 * time.Second

// NewScoper returns a Scoper that asks the cluster's discovery API, caching
// the answer. It is safe for concurrent use and meant to live as long as the
// cluster's client.
func NewScoper(cfg *rest.Config) (Scoper, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client for %s: %w", cfg.Host, err)
	}
	return &discoveryScoper{mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

type discoveryScoper struct {
	mapper *restmapper.DeferredDiscoveryRESTMapper

	mu         sync.Mutex
	discovered time.Time // when the cache was last reset
}

func (s *discoveryScoper) Namespaced(gvk schema.GroupVersionKind) (bool, error) {
	m, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) && s.mayRediscover() {
		s.mapper.Reset()
		m, err = s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		if other, oerr := s.mapper.RESTMapping(gvk.GroupKind()); oerr == nil {
			// The kind exists at another version: say so rather than
			// send the user looking for a CRD.
			return false, fmt.Errorf("the cluster serves %s as %s, not %s; update its apiVersion",
				gvk.Kind, other.GroupVersionKind.GroupVersion(), gvk.GroupVersion())
		}
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("discover %s: %w", gvk, err)
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

func (s *discoveryScoper) mayRediscover() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.discovered) < rediscoverAfter {
		return false
	}
	s.discovered = time.Now()
	return true
}

const crdGroup = "apiextensions.k8s.io"

// setNamespaces gives every namespaced object that names no namespace the
// environment's namespace. Cluster-scoped objects are left alone, even if
// they name one. Kinds defined by a CRD in the same render take the CRD's
// scope: it is not installed yet, so discovery cannot know them. A kind
// neither knows is an error: the apply would fail anyway, later and less
// clearly.
func setNamespaces(objs []Object, namespace string, scope Scoper) error {
	defined := crdScopes(objs)
	for _, o := range objs {
		gvk := o.Object.GroupVersionKind()
		namespaced, ok := defined[gvk.GroupKind()]
		if !ok {
			var err error
			namespaced, err = scope.Namespaced(gvk)
			if meta.IsNoMatchError(err) {
				return &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("%s: no kind %s in group %s on the cluster; is its CRD installed?", describe(o.Object), gvk.Kind, gvk.GroupVersion())}
			}
			if err != nil {
				return &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("%s: %v", describe(o.Object), err)}
			}
		}
		if namespaced && namespace != "" && o.Object.GetNamespace() == "" {
			o.Object.SetNamespace(namespace)
		}
	}
	return nil
}

// crdScopes maps each kind defined by a CRD among objs to whether it is
// namespaced.
func crdScopes(objs []Object) map[schema.GroupKind]bool {
	scopes := map[schema.GroupKind]bool{}
	for _, o := range objs {
		u := o.Object
		if u.GroupVersionKind().GroupKind() != (schema.GroupKind{Group: crdGroup, Kind: "CustomResourceDefinition"}) {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		if kind != "" {
			scopes[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return scopes
}

// Offline is a Scoper for renders without a cluster (slipway validate): it
// knows which built-in kinds are cluster-scoped and takes every other kind
// to be namespaced, as nearly all custom kinds are.
var Offline Scoper = offlineScoper{}

type offlineScoper struct{}

// clusterScoped are the built-in cluster-scoped kinds, by group.
var clusterScoped = map[schema.GroupKind]bool{
	{Kind: "Namespace"}: true, {Kind: "Node"}: true, {Kind: "PersistentVolume"}: true, {Kind: "ComponentStatus"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: crdGroup, Kind: "CustomResourceDefinition"}:                               true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                                        true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                               true,
	{Group: "storage.k8s.io", Kind: "VolumeAttributesClass"}:                          true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "networking.k8s.io", Kind: "IPAddress"}:                                   true,
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:                                 true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicy"}:          true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicyBinding"}:   true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:                 true,
	{Group: "certificates.k8s.io", Kind: "ClusterTrustBundle"}:                        true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                       true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:       true,
	{Group: "resource.k8s.io", Kind: "DeviceClass"}:                                   true,
	{Group: "resource.k8s.io", Kind: "ResourceSlice"}:                                 true,
}

func (offlineScoper) Namespaced(gvk schema.GroupVersionKind) (bool, error) {
	return !clusterScoped[gvk.GroupKind()], nil
}
