// Package allow decides what the server config lets a repository do on a
// cluster: which namespaces and cluster-scoped kinds its objects may use,
// which service account it acts as, and what review it needs at least. The
// platform team's word beats the repository's.
package kube

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/soakfault"
)

// namespaceFile is where Kubernetes mounts a pod's namespace.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// OwnNamespace is the namespace slipway runs in: POD_NAMESPACE (set from
// the downward API in deploy/), else the in-cluster namespace file; ""
// outside a cluster.
func OwnNamespace() string {
	return ownNamespace(os.Getenv, namespaceFile)
}

func ownNamespace(getenv func(string) string, file string) string {
	if ns := strings.TrimSpace(getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

// Bounds are the server config's repos entries, ready to answer for any
// repository and cluster.
type Bounds struct {
	cfg *config.Config
	// reserved are slipway's own namespaces, by why: no repository's
	// objects go there unless its entry names the namespace literally.
	reserved map[string]string
	// rules are each entry's compiled rules, by cluster and entry index.
	rules map[[2]int][]policy.CompiledRule
}

// NewBounds compiles cfg's repos entries. ownNamespace is where slipway runs
// ("" when unknown); it and cfg.Store.Namespace are reserved.
func NewBounds(cfg *config.Config, ownNamespace string) (*Bounds, error) {
	b := &Bounds{cfg: cfg, reserved: map[string]string{}, rules: map[[2]int][]policy.CompiledRule{}}
	if ownNamespace != "" {
		b.reserved[ownNamespace] = "the namespace slipway runs in"
	}
	if ns := cfg.Store.Namespace; ns != "" {
		b.reserved[ns] = "server config store.namespace"
	}
	for i, cl := range cfg.Clusters {
		for j, e := range cl.Repos {
			for k, r := range e.Rules {
				compiled, err := policy.CompileServerRule(r)
				if err != nil {
					return nil, fmt.Errorf("clusters[%d].repos[%d].rules[%d]: %w", i, j, k, err)
				}
				b.rules[[2]int{i, j}] = append(b.rules[[2]int{i, j}], compiled)
			}
		}
	}
	return b, nil
}

// For is what repo may do on cluster: the first of the cluster's repos
// entries naming repo. The error says why repo may not use the cluster.
func (b *Bounds) For(cluster, repo string) (*Grant, error) {
	for i, cl := range b.cfg.Clusters {
		if cl.Name != cluster {
			continue
		}
		e, j, ok := cl.Entry(repo)
		if !ok {
			if len(cl.Repos) == 0 {
				return nil, fmt.Errorf("%s may not deploy to cluster %q: its repos list in the server config is empty", repo, cluster)
			}
			return nil, fmt.Errorf("%s may not deploy to cluster %q: the server config lists only %s for it", repo, cluster, strings.Join(cl.RepoPatterns(), ", "))
		}
		return &Grant{
			Repo: repo, Cluster: cluster, MinApprovals: e.MinApprovals, Rules: b.rules[[2]int{i, j}],
			entry: e, where: fmt.Sprintf("clusters[%d].repos[%d]", i, j), reserved: b.reserved,
		}, nil
	}
	return nil, fmt.Errorf("no cluster %q in the server config", cluster)
}

// Grant is what one repository may do on one cluster.
type Grant struct {
	Repo, Cluster string
	// MinApprovals is a floor under every environment's policy.approvals.
	MinApprovals int
	// Rules are checked beside each environment's own, marked Server.
	Rules []policy.CompiledRule

	entry    config.RepoEntry
	where    string // the entry's key in the server config
	reserved map[string]string
}

// Namespace refuses a namespace the repository's objects may not use.
func (g *Grant) Namespace(ns string) error {
	if why, ok := g.reserved[ns]; ok && !g.namesLiterally(ns) {
		return fmt.Errorf("namespace %s is slipway's own (%s): not allowed for %s on cluster %s unless %s.namespaces names it",
			ns, why, g.Repo, g.Cluster, g.where)
	}
	if g.entry.Bare || matchAny(g.entry.Namespaces, ns) {
		return nil
	}
	return fmt.Errorf("namespace %s is not allowed for %s on cluster %s (server config %s.namespaces: %s)",
		ns, g.Repo, g.Cluster, g.where, strings.Join(g.entry.Namespaces, ", "))
}

// Object refuses an object the repository may not touch: one in a
// namespace it may not use, or of a cluster-scoped kind it may not use
// (namespace ""). A Namespace object counts as its own namespace too.
func (g *Grant) Object(group, kind, namespace, name string) error {
	if soakfault.On(soakfault.NamespaceEscape) {
		return nil
	}
	if namespace != "" {
		return g.Namespace(namespace)
	}
	if !g.entry.Bare && !g.clusterScoped(group, kind) {
		rule := g.where + ".cluster_scoped is empty"
		if len(g.entry.ClusterScoped) > 0 {
			rule = g.where + ".cluster_scoped: " + strings.Join(g.entry.ClusterScoped, ", ")
		}
		return fmt.Errorf("cluster-scoped kind %s is not allowed for %s on cluster %s (server config %s)",
			kindName(group, kind), g.Repo, g.Cluster, rule)
	}
	if group == "" && kind == "Namespace" {
		return g.Namespace(name)
	}
	return nil
}

// Environment checks env's namespace and resolves the service account it
// is planned and applied as: the one it names, which the entry must allow,
// or the entry's default. Zero means slipway's own identity.
func (g *Grant) Environment(env *repoconfig.Environment) (repoconfig.ServiceAccount, error) {
	if env.Namespace != "" {
		if err := g.Namespace(env.Namespace); err != nil {
			return repoconfig.ServiceAccount{}, fmt.Errorf("environment %s: %w", env.Name, err)
		}
	}
	sa := env.ServiceAccountRef()
	if sa.IsZero() && !g.entry.Bare && len(g.entry.ServiceAccounts) > 0 {
		def, ok := defaultAccount(g.entry.ServiceAccounts[0], env.Namespace)
		if !ok {
			return sa, fmt.Errorf("environment %s names no service_account, and the server config's first one for %s on cluster %s (%s.service_accounts[0]: %s) is a pattern: name one that matches %s",
				env.Name, g.Repo, g.Cluster, g.where, g.entry.ServiceAccounts[0], strings.Join(g.entry.ServiceAccounts, ", "))
		}
		sa = def
	}
	if err := g.Identity(sa); err != nil {
		return repoconfig.ServiceAccount{}, fmt.Errorf("environment %s: %w", env.Name, err)
	}
	return sa, nil
}

// Identity refuses a service account the repository may not act as on the
// cluster (zero: slipway's own identity).
func (g *Grant) Identity(sa repoconfig.ServiceAccount) error {
	switch {
	case g.entry.Bare:
		return nil
	case sa.IsZero() && len(g.entry.ServiceAccounts) > 0:
		return fmt.Errorf("%s must act as a service account on cluster %s (server config %s.service_accounts: %s)",
			g.Repo, g.Cluster, g.where, strings.Join(g.entry.ServiceAccounts, ", "))
	case sa.IsZero():
		return nil
	case len(g.entry.ServiceAccounts) == 0:
		return fmt.Errorf("service account %s is not allowed for %s on cluster %s (server config %s names no service_accounts: remove service_account, and slipway acts as itself)",
			sa, g.Repo, g.Cluster, g.where)
	case matchAny(g.entry.ServiceAccounts, sa.String()):
		return nil
	}
	return fmt.Errorf("service account %s is not allowed for %s on cluster %s (server config %s.service_accounts: %s)",
		sa, g.Repo, g.Cluster, g.where, strings.Join(g.entry.ServiceAccounts, ", "))
}

// defaultAccount is the service account the entry's first pattern stands
// for in an environment's namespace: the pattern itself when it is
// literal; NAMESPACE-GLOB/NAME in the environment's namespace when that
// matches. A name that is a pattern has no default.
func defaultAccount(pattern, envNamespace string) (repoconfig.ServiceAccount, bool) {
	ns, name, _ := strings.Cut(pattern, "/")
	if isGlob(name) {
		return repoconfig.ServiceAccount{}, false
	}
	if !isGlob(ns) {
		return repoconfig.ServiceAccount{Namespace: ns, Name: name}, true
	}
	if ok, _ := path.Match(ns, envNamespace); ok && envNamespace != "" {
		return repoconfig.ServiceAccount{Namespace: envNamespace, Name: name}, true
	}
	return repoconfig.ServiceAccount{}, false
}

// namesLiterally reports whether the entry lists ns itself, not through a
// glob: the only way into a reserved namespace.
func (g *Grant) namesLiterally(ns string) bool {
	for _, n := range g.entry.Namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// clusterScoped reports whether the entry allows group/kind: an entry is
// Kind (any group) or Kind.group, each part a glob.
func (g *Grant) clusterScoped(group, kind string) bool {
	for _, pattern := range g.entry.ClusterScoped {
		kp, gp, hasGroup := strings.Cut(pattern, ".")
		if ok, _ := path.Match(kp, kind); !ok {
			continue
		}
		if !hasGroup {
			return true
		}
		if ok, _ := path.Match(gp, group); ok {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func isGlob(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func kindName(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}
