package githubsim

import (
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Repository metadata, permissions, team membership, branches and refs.

func (s *Sim) getRepo(c *call) { c.json(http.StatusOK, s.repoObj(c.repo)) }

// permission is a user's effective permission: explicit grants win, a
// user-owned repository's owner is admin, everyone else has none (the
// simulated repositories are private).
func (s *Sim) permission(r *repo, login string) string {
	if p := r.perms[strings.ToLower(login)]; p != "" {
		return p
	}
	if strings.EqualFold(login, r.owner) && s.st.user(r.owner).typ == "User" {
		return "admin"
	}
	return "none"
}

// permissionLevel adds role_name, which GitHub sends but go-github v60's
// RepositoryPermissionLevel does not model.
type permissionLevel struct {
	github.RepositoryPermissionLevel
	RoleName string `json:"role_name"`
}

func (s *Sim) getPermission(c *call) {
	login := c.r.PathValue("user")
	perm := s.permission(c.repo, login)
	u := s.userObj(login)
	rank := map[string]int{"none": 0, "read": 1, "write": 2, "admin": 3}[perm]
	u.Permissions = map[string]bool{"pull": rank >= 1, "triage": rank >= 1, "push": rank >= 2, "maintain": rank >= 3, "admin": rank >= 3}
	role := map[string]string{"none": "none", "read": "read", "write": "write", "admin": "admin"}[perm]
	u.RoleName = github.String(role)
	c.json(http.StatusOK, permissionLevel{
		RepositoryPermissionLevel: github.RepositoryPermissionLevel{Permission: github.String(perm), User: u},
		RoleName:                  role,
	})
}

func (s *Sim) getTeamMembership(c *call) {
	org, team, login := c.r.PathValue("org"), c.r.PathValue("team"), c.r.PathValue("user")
	members := s.st.teams[strings.ToLower(org+"/"+team)]
	if !strings.EqualFold(org, c.inst.account) || !members[strings.ToLower(login)] {
		c.notFound()
		return
	}
	c.json(http.StatusOK, &github.Membership{
		URL:   github.String(s.apiURL("organizations/%s/team/%s/memberships/%s", org, team, login)),
		State: github.String("active"),
		Role:  github.String("member"),
	})
}

func (s *Sim) getBranch(c *call) {
	name := c.r.PathValue("branch")
	g := gitRepo{c.repo.dir}
	sha, ok := g.branchSHA(name)
	if !ok {
		c.fail(http.StatusNotFound, "Branch not found")
		return
	}
	rc, err := s.repoCommit(c.repo, sha, false)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	c.json(http.StatusOK, &github.Branch{Name: github.String(name), Commit: rc, Protected: github.Bool(c.repo.isProtected(name))})
}

// getRef answers git/ref/heads/X, git/ref/tags/X and git/ref/pull/N/head.
func (s *Sim) getRef(c *call) {
	ref := "refs/" + c.r.PathValue("ref")
	g := gitRepo{c.repo.dir}
	sha, err := g.out("rev-parse", "--verify", "--quiet", ref)
	if err != nil || sha == "" || strings.Contains(ref, "..") {
		c.notFound()
		return
	}
	full := c.repo.fullName()
	c.json(http.StatusOK, &github.Reference{
		Ref:    github.String(ref),
		URL:    github.String(s.apiURL("repos/%s/git/%s", full, ref)),
		NodeID: github.String("REF_" + sha[:12]),
		Object: &github.GitObject{
			Type: github.String("commit"),
			SHA:  github.String(sha),
			URL:  github.String(s.apiURL("repos/%s/git/commits/%s", full, sha)),
		},
	})
}
