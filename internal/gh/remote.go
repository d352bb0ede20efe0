package gh

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseRemote names the repository a git remote URL points at on GitHub
// (or GitHub Enterprise): https://github.com/acme/shop.git,
// git@github.com:acme/shop.git and ssh://git@github.com/acme/shop all
// name acme/shop. A URL whose path is not owner/name (a local path, a
// server with a path prefix) is an error: the caller asks for the name.
func ParseRemote(remote string) (Repo, error) {
	remote = strings.TrimSpace(remote)
	path := ""
	switch {
	case strings.Contains(remote, "://"):
		u, err := url.Parse(remote)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "ssh" && u.Scheme != "git") {
			return Repo{}, fmt.Errorf("remote %q is not a GitHub repository URL", remote)
		}
		path = u.Path
	default:
		// scp-like syntax: [user@]host:owner/name
		host, p, ok := strings.Cut(remote, ":")
		if !ok || host == "" || strings.ContainsAny(host, "/\\") {
			return Repo{}, fmt.Errorf("remote %q is not a GitHub repository URL", remote)
		}
		path = p
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	owner, name, ok := strings.Cut(path, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return Repo{}, fmt.Errorf("remote %q does not name a repository as owner/name", remote)
	}
	return Repo{Owner: owner, Name: name}, nil
}
