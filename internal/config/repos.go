package config

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// RepoEntry is one entry of a cluster's repos: which repositories may
// target the cluster, and what they may do there. A bare "owner/repo" (or
// "owner/*") string is the permissive form: any namespace but slipway's
// own, any kind, any service account, as before entries could be
// mappings. The mapping form bounds the repository's config: what it may
// touch, as whom, and what review it needs at least.
type RepoEntry struct {
	Repo string `yaml:"repo"`
	// Namespaces are globs (path.Match) every namespaced object, the
	// environment's namespace and the name of every Namespace object must
	// match. Required in the mapping form.
	Namespaces []string `yaml:"namespaces"`
	// ClusterScoped are the cluster-scoped kinds allowed: Kind (any group)
	// or Kind.group, globs allowed. Empty: none.
	ClusterScoped []string `yaml:"cluster_scoped"`
	// ServiceAccounts are NAMESPACE/NAME globs the repository's
	// service_account must match; the first is the identity an environment
	// that names none is planned and applied as. Empty: slipway's own
	// identity, and the repository may name none.
	ServiceAccounts []string `yaml:"service_accounts"`
	// MinApprovals is a floor under every environment's policy.approvals.
	MinApprovals int `yaml:"min_approvals"`
	// Rules are CEL rules checked beside the environment's own, which the
	// repository cannot remove.
	Rules []repoconfig.Rule `yaml:"rules"`
	// Bare marks the string form.
	Bare bool `yaml:"-"`
}

// YAMLShorthand implements strictyaml.Shorthand: an entry is a string or
// a mapping.
func (e *RepoEntry) YAMLShorthand() {}

// UnmarshalYAML implements yaml.Unmarshaler for both forms.
func (e *RepoEntry) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*e = RepoEntry{Repo: n.Value, Bare: true}
		return nil
	case yaml.MappingNode:
	default:
		return fmt.Errorf("expected owner/repo, or a mapping with repo and namespaces")
	}
	type plain RepoEntry // without the methods, so decoding does not recurse
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*e = RepoEntry(p)
	e.Bare = false
	return nil
}

// MarshalYAML implements yaml.Marshaler: the string form stays a string,
// so a config written back out means what it meant when read.
func (e RepoEntry) MarshalYAML() (any, error) {
	if e.Bare {
		return e.Repo, nil
	}
	type plain RepoEntry // without the methods, so encoding does not recurse
	return plain(e), nil
}

// Matches reports whether repo (owner/name) is one the entry names:
// exactly or through owner/*, case-insensitively, as GitHub names are.
func (e RepoEntry) Matches(repo string) bool {
	ok, _ := path.Match(strings.ToLower(e.Repo), strings.ToLower(repo))
	return ok
}

// Entry is the first of the cluster's repos entries that names repo, and
// its index; false when none does.
func (cl Cluster) Entry(repo string) (RepoEntry, int, bool) {
	for i, e := range cl.Repos {
		if e.Matches(repo) {
			return e, i, true
		}
	}
	return RepoEntry{}, -1, false
}

// RepoPatterns are the repo patterns of the cluster's entries, for
// messages.
func (cl Cluster) RepoPatterns() []string {
	out := make([]string, len(cl.Repos))
	for i, e := range cl.Repos {
		out[i] = e.Repo
	}
	return out
}

// repoPatternProblem is what is wrong with a repository pattern
// (owner/repo, owner/*), or "" when it is right.
func repoPatternProblem(pattern string) string {
	if _, err := path.Match(pattern, "owner/repo"); err != nil || strings.Count(pattern, "/") != 1 {
		return fmt.Sprintf("must look like owner/repo or owner/*, got %q", pattern)
	}
	return ""
}

// validateRepos checks a cluster's repos entries; fail reports at a key.
func validateRepos(cl Cluster, key string, fail func(key, format string, args ...any)) {
	if len(cl.Repos) == 0 {
		fail(key+".repos", "list the repositories that may target this cluster, for example [\"acme/*\"]")
	}
	for j, e := range cl.Repos {
		ek := fmt.Sprintf("%s.repos[%d]", key, j)
		rk := ek
		if !e.Bare {
			rk += ".repo"
		}
		if msg := repoPatternProblem(e.Repo); msg != "" {
			fail(rk, "%s", msg)
		}
		if e.Bare {
			continue
		}
		if len(e.Namespaces) == 0 {
			fail(ek+".namespaces", "list the namespaces %s may use (globs such as shop-*; [\"*\"] for any but slipway's own)", e.Repo)
		}
		for k, ns := range e.Namespaces {
			if msg := checkGlob(ns, validation.IsDNS1123Label); msg != "" {
				fail(fmt.Sprintf("%s.namespaces[%d]", ek, k), "%q %s", ns, msg)
			}
		}
		for k, kind := range e.ClusterScoped {
			name, _, _ := strings.Cut(kind, ".")
			if _, err := path.Match(kind, ""); err != nil || name == "" {
				fail(fmt.Sprintf("%s.cluster_scoped[%d]", ek, k), "must be a kind such as Namespace or ClusterRole.rbac.authorization.k8s.io, got %q", kind)
			}
		}
		for k, sa := range e.ServiceAccounts {
			sk := fmt.Sprintf("%s.service_accounts[%d]", ek, k)
			ns, name, ok := strings.Cut(sa, "/")
			if !ok || strings.Contains(name, "/") {
				fail(sk, "must be NAMESPACE/NAME (globs allowed, such as shop-*/deployer), got %q", sa)
				continue
			}
			if msg := checkGlob(ns, validation.IsDNS1123Label); msg != "" {
				fail(sk, "namespace %q of %q %s", ns, sa, msg)
			}
			if msg := checkGlob(name, validation.IsDNS1123Subdomain); msg != "" {
				fail(sk, "service account %q of %q %s", name, sa, msg)
			}
		}
		if e.MinApprovals < 0 {
			fail(ek+".min_approvals", "must not be negative, got %d", e.MinApprovals)
		}
		seen := map[string]bool{}
		for k, r := range e.Rules {
			rk := fmt.Sprintf("%s.rules[%d]", ek, k)
			switch {
			case r.Name == "":
				fail(rk+".name", "is required")
			case seen[r.Name]:
				fail(rk+".name", "rule %q is defined twice in this entry", r.Name)
			}
			seen[r.Name] = true
			if _, err := policy.CompileServerRule(r); err != nil {
				fail(rk+".expr", "%v", err)
			}
		}
	}
}

// checkGlob says what is wrong with a glob over names that check
// validates, or "" when it is right: a pattern path.Match rejects, or a
// literal name that is not valid (and so could never match).
func checkGlob(glob string, check func(string) []string) string {
	if _, err := path.Match(glob, ""); err != nil || glob == "" {
		return "is not a valid glob"
	}
	if strings.ContainsAny(glob, "*?[\\") {
		return ""
	}
	if errs := check(glob); len(errs) > 0 {
		return "is not a valid name: " + strings.Join(errs, "; ")
	}
	return ""
}

// AnyNamespace makes bare entries, the permissive form, from repo
// patterns: for configs built in code.
func AnyNamespace(patterns ...string) []RepoEntry {
	out := make([]RepoEntry, len(patterns))
	for i, p := range patterns {
		out[i] = RepoEntry{Repo: p, Bare: true}
	}
	return out
}
