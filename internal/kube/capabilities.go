package kube

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/render"
)

// CapabilitiesTTL is how long a cluster's discovered capabilities are
// used before they are asked for again: long enough that a burst of plans
// costs one discovery, short enough that a CRD another tool installs
// shows within a minute. An apply that creates or changes a CRD forgets
// them at once (Forget).
const CapabilitiesTTL = time.Minute

// Capabilities discovers what a Helm chart's .Capabilities says of one
// cluster (its version, the API versions it serves) and caches the
// answer. It is safe for concurrent use; keep one per cluster.
type Capabilities struct {
	dc  discovery.DiscoveryInterface
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	caps *render.Capabilities
	at   time.Time
	// uncachedUntil: after Forget, every Get asks the cluster until then,
	// since discovery may show a new CRD's kinds a little after it is
	// established, and a lagging answer must not be kept for a TTL.
	uncachedUntil time.Time
}

// forgetWindow is how long after Forget capabilities are not cached.
const forgetWindow = 10 * time.Second

// NewCapabilities returns the capabilities of the cluster behind rc, which
// are discovered on first use. Discovery is open to every authenticated
// identity (the system:discovery role), so one per cluster serves every
// service account slipway impersonates there.
func NewCapabilities(rc *rest.Config) (*Capabilities, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("discovery client for %s: %w", rc.Host, err)
	}
	return newCapabilities(dc), nil
}

func newCapabilities(dc discovery.DiscoveryInterface) *Capabilities {
	return &Capabilities{dc: dc, ttl: CapabilitiesTTL, now: time.Now}
}

// Get returns the cluster's capabilities, discovering them when none are
// cached or they are older than CapabilitiesTTL. Concurrent callers wait
// for one discovery.
func (c *Capabilities) Get(ctx context.Context) (*render.Capabilities, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.caps != nil && now.Sub(c.at) < c.ttl && !now.Before(c.uncachedUntil) {
		return c.caps, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	caps, err := discover(c.dc)
	if err != nil {
		return nil, err
	}
	c.caps, c.at = caps, c.now()
	return caps, nil
}

// Forget drops the cached capabilities, so that Gets ask the cluster again
// (for forgetWindow, each of them): an apply that created a CRD calls it,
// so the next render sees the kind.
func (c *Capabilities) Forget() {
	c.mu.Lock()
	c.caps, c.uncachedUntil = nil, c.now().Add(forgetWindow)
	c.mu.Unlock()
}

// discover asks the cluster what Helm's action.Configuration asks it
// (getCapabilities, GetVersionSet): the server version, and each served
// group version with and without each of its kinds. Helm's own functions
// live in its action package, which would bring Helm's release storage
// (SQL drivers among it) into slipway for 30 lines. A group whose
// discovery fails (an aggregated API that is down) is left out, as Helm
// leaves it out.
func discover(dc discovery.DiscoveryInterface) (*render.Capabilities, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("discover the cluster's version for Helm's .Capabilities: %w", err)
	}
	groups, resources, err := dc.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discover the cluster's API versions for Helm's .Capabilities: %w", err)
	}
	var versions []string
	for _, g := range groups {
		for _, gv := range g.Versions {
			versions = append(versions, gv.GroupVersion)
		}
	}
	for _, r := range resources {
		for _, res := range r.APIResources {
			versions = append(versions, path.Join(r.GroupVersion, res.Kind))
		}
	}
	slices.Sort(versions)
	return &render.Capabilities{KubeVersion: v.GitVersion, APIVersions: slices.Compact(versions)}, nil
}
