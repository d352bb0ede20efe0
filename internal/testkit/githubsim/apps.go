package githubsim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// App-level endpoints (JWT) and installation discovery.

func (s *Sim) getApp(c *call) { c.json(http.StatusOK, s.appObj()) }

func (s *Sim) listInstallations(c *call) {
	var out []*github.Installation
	for _, id := range sortedIDs(s.st.installations) {
		out = append(out, s.installationObj(s.st.installations[id]))
	}
	c.json(http.StatusOK, page(c, nonNil(out)))
}

func (s *Sim) getInstallation(c *call) {
	id, ok := c.intParam("id")
	if !ok {
		return
	}
	inst := s.st.installations[id]
	if inst == nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, s.installationObj(inst))
}

// createAccessToken honours the optional restriction to some repositories
// so tests can check that clients ask only for what they need.
func (s *Sim) createAccessToken(c *call) {
	id, ok := c.intParam("id")
	if !ok {
		return
	}
	inst := s.st.installations[id]
	if inst == nil {
		c.notFound()
		return
	}
	var opts github.InstallationTokenOptions
	if c.r.ContentLength != 0 && !c.decode(&opts) {
		return
	}
	var allowed map[string]bool
	var repos []*github.Repository
	if len(opts.Repositories) > 0 || len(opts.RepositoryIDs) > 0 {
		allowed = map[string]bool{}
		wanted := len(opts.Repositories) + len(opts.RepositoryIDs)
		for _, full := range inst.repos {
			r := s.st.repos[full]
			byID := slices.Contains(opts.RepositoryIDs, r.id)
			byName := slices.ContainsFunc(opts.Repositories, func(n string) bool { return strings.EqualFold(n, r.name) })
			if byID || byName {
				allowed[full] = true
				repos = append(repos, s.repoObj(r))
			}
			if byID && byName {
				wanted-- // named twice
			}
		}
		if len(allowed) != wanted {
			c.invalid("InstallationToken", "repositories", "invalid", "There is at least one repository that does not exist or is not accessible to the parent installation.")
			return
		}
	}
	tok, exp := s.issueToken(inst, allowed)
	c.json(http.StatusCreated, &github.InstallationToken{
		Token:        github.String(tok),
		ExpiresAt:    ts(exp),
		Permissions:  appPermissions(),
		Repositories: repos,
	})
}

func (s *Sim) findRepoInstallation(c *call) {
	r := s.st.repo(c.r.PathValue("owner") + "/" + c.r.PathValue("repo"))
	if r == nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, s.installationObj(s.st.installations[r.installationID]))
}

// findAccountInstallation serves both /orgs/{account}/installation and
// /users/{account}/installation.
func (s *Sim) findAccountInstallation(c *call) {
	account := c.r.PathValue("account")
	for _, id := range sortedIDs(s.st.installations) {
		inst := s.st.installations[id]
		if strings.EqualFold(inst.account, account) {
			c.json(http.StatusOK, s.installationObj(inst))
			return
		}
	}
	c.notFound()
}

func (s *Sim) listInstallationRepos(c *call) {
	var out []*github.Repository
	for _, full := range c.inst.repos {
		out = append(out, s.repoObj(s.st.repos[full]))
	}
	all := nonNil(out)
	c.json(http.StatusOK, &github.ListRepositories{TotalCount: github.Int(len(all)), Repositories: page(c, all)})
}

func sortedIDs[V any](m map[int64]V) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// nonNil makes empty lists encode as [] rather than null, as GitHub's do.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
