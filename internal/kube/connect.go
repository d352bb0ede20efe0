// Package kube is slipway's only way to clusters: it turns a cluster named
// in the server config, or a kubeconfig context, into a client
// configuration (impersonating an environment's service account, re-reading
// rotated token files), bounds what each repository may do there, and keeps
// one planning target per cluster and identity.
package kube

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipwayhq/slipway/internal/config"
)

// Client-side rate limits: a plan sends one dry-run per object with many in
// flight, so client-go's defaults (5 QPS) would dominate its time.
const (
	QPS   = 500
	Burst = 1000
)

// FromServerConfig resolves the server config's cluster named name.
func FromServerConfig(cfg *config.Config, name string) (*rest.Config, error) {
	for _, c := range cfg.Clusters {
		if c.Name != name {
			continue
		}
		if c.InCluster {
			rc, err := rest.InClusterConfig()
			if err != nil {
				return nil, fmt.Errorf("cluster %q: in_cluster: %w", name, err)
			}
			return tune(rc), nil
		}
		return FromKubeconfig(c.Kubeconfig, c.Context)
	}
	return nil, fmt.Errorf("cluster %q is not in the server config (clusters: %v)", name, names(cfg))
}

// FromKubeconfig loads a kubeconfig context. An empty path follows kubectl's
// rules ($KUBECONFIG, then ~/.kube/config); an empty context is the current one.
func FromKubeconfig(path, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		where := "the default kubeconfig"
		if path != "" {
			where = path
		}
		if context != "" {
			return nil, fmt.Errorf("kubeconfig context %q in %s: %w", context, where, err)
		}
		return nil, fmt.Errorf("kubeconfig %s: %w", where, err)
	}
	return tune(rc), nil
}

// Impersonating returns a copy of rc whose requests act as user, a service
// account's "system:serviceaccount:NAMESPACE:NAME": the apiserver then
// authorizes each request against that account's RBAC, not rc's. rc's own
// identity needs the impersonate verb on serviceaccounts.
func Impersonating(rc *rest.Config, user string) *rest.Config {
	out := rest.CopyConfig(rc)
	out.Impersonate = rest.ImpersonationConfig{UserName: user}
	return out
}

// StoreCluster is the API server that keeps the Leases, and how to name it
// in errors.
func StoreCluster(cfg *config.Config) (*rest.Config, string, error) {
	if name := cfg.Store.Cluster; name != "" {
		rc, err := FromServerConfig(cfg, name)
		if err != nil {
			return nil, "", fmt.Errorf("store.cluster: %w", err)
		}
		return rc, fmt.Sprintf("cluster %q", name), nil
	}
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, "", fmt.Errorf("store.cluster is empty, so the Leases live in the cluster slipway runs in, but %w; set store.cluster to a name from clusters", err)
	}
	return tune(rc), "the cluster slipway runs in", nil
}

// Reachable tells whether the server config's cluster name answers with
// slipway's credentials: it asks for the API server's version, which any
// authenticated identity may read, so a wrong token fails as well as a
// wrong address.
func Reachable(ctx context.Context, cfg *config.Config, name string) error {
	rc, err := FromServerConfig(cfg, name)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("cluster %q: %w", name, err)
	}
	if err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return fmt.Errorf("cluster %q at %s: %w", name, rc.Host, err)
	}
	return nil
}

func tune(rc *rest.Config) *rest.Config {
	rc.QPS, rc.Burst = QPS, Burst
	rc.UserAgent = "slipway"
	rotateTokenFile(rc)
	return rc
}

func names(cfg *config.Config) []string {
	var out []string
	for _, c := range cfg.Clusters {
		out = append(out, c.Name)
	}
	return out
}
