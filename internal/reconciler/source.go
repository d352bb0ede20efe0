package reconciler

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// repoOf is the owner/name a Git URL points at, lower-cased: https and
// http (https://github.com/acme/shop.git), ssh://git@host/acme/shop and
// scp-like git@host:acme/shop.git. "" when the URL names no owner/name.
func repoOf(raw string) string {
	p := raw
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		p = u.Path
	} else if at, rest, ok := strings.Cut(raw, "@"); ok && !strings.Contains(at, "/") {
		// git@github.com:acme/shop.git
		_, p, _ = strings.Cut(rest, ":")
	} else {
		return ""
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	parts := strings.Split(p, "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return ""
	}
	return strings.ToLower(parts[len(parts)-2] + "/" + parts[len(parts)-1])
}

// checkSource refuses a reconciler object that deploys from another
// repository than repo, or another path than want: .slipway.yaml names the
// object, and slipway must neither trigger another repository's reconciler
// nor show a plan of a path the reconciler does not apply.
func checkSource(object, url, repo, gotPath, want string) error {
	if got := repoOf(url); got == "" || got != strings.ToLower(repo) {
		return fmt.Errorf("%s deploys from %s, not from %s: slipway only triggers a reconciler that deploys this repository; fix the reconciler in .slipway.yaml", object, url, repo)
	}
	if cleanPath(gotPath) != cleanPath(want) {
		return fmt.Errorf("%s applies the path %q, but the environment's path is %q: slipway's plans would not show what it applies; make them the same", object, gotPath, want)
	}
	return nil
}

// cleanPath makes "./clusters/prod/", "clusters/prod" and "/clusters/prod"
// one path, as Flux and Argo CD read them: relative to the repository root.
func cleanPath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	return strings.TrimPrefix(p, "/")
}
