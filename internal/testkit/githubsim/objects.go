package githubsim

import (
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
)

// This file renders simulator state as the go-github values GitHub's JSON
// decodes into; callers hold Sim.mu.

func nodeID(prefix string, id int64) *string {
	return github.String(fmt.Sprintf("%s_sim%d", prefix, id))
}

func (s *Sim) userObj(login string) *github.User {
	u := s.st.user(login)
	return &github.User{
		Login:     github.String(u.login),
		ID:        github.Int64(u.id),
		NodeID:    nodeID("U", u.id),
		Type:      github.String(u.typ),
		SiteAdmin: github.Bool(false),
		URL:       github.String(s.apiURL("users/%s", u.login)),
		HTMLURL:   github.String(s.webURL("%s", u.login)),
		AvatarURL: github.String(s.webURL("avatars/%s", u.login)),
	}
}

func (s *Sim) appObj() *github.App {
	return &github.App{
		ID:          github.Int64(s.opts.AppID),
		Slug:        github.String(s.opts.AppSlug),
		NodeID:      nodeID("A", s.opts.AppID),
		Name:        github.String(s.opts.AppSlug),
		Owner:       s.userObj(s.opts.AppSlug + "-owner"),
		HTMLURL:     github.String(s.webURL("apps/%s", s.opts.AppSlug)),
		CreatedAt:   ts(s.start.UTC().Truncate(1e9)),
		UpdatedAt:   ts(s.start.UTC().Truncate(1e9)),
		Permissions: appPermissions(),
		Events: []string{"check_run", "issue_comment", "pull_request", "pull_request_review",
			"push", "deployment", "deployment_status"},
		InstallationsCount: github.Int(len(s.st.installations)),
	}
}

func appPermissions() *github.InstallationPermissions {
	return &github.InstallationPermissions{
		Checks:         github.String("write"),
		Contents:       github.String("write"),
		Deployments:    github.String("write"),
		Issues:         github.String("write"),
		Metadata:       github.String("read"),
		Members:        github.String("read"),
		PullRequests:   github.String("write"),
		Statuses:       github.String("write"),
		Administration: github.String("read"),
	}
}

// installationRef is the {"id","node_id"} stub GitHub puts in webhooks.
func installationRef(id int64) *github.Installation {
	return &github.Installation{ID: github.Int64(id), NodeID: nodeID("INST", id)}
}

func (s *Sim) installationObj(inst *installation) *github.Installation {
	acct := s.userObj(inst.account)
	return &github.Installation{
		ID:                  github.Int64(inst.id),
		NodeID:              installationRef(inst.id).NodeID,
		AppID:               github.Int64(s.opts.AppID),
		AppSlug:             github.String(s.opts.AppSlug),
		TargetID:            acct.ID,
		TargetType:          acct.Type,
		Account:             acct,
		AccessTokensURL:     github.String(s.apiURL("app/installations/%d/access_tokens", inst.id)),
		RepositoriesURL:     github.String(s.apiURL("installation/repositories")),
		HTMLURL:             github.String(s.webURL("organizations/%s/settings/installations/%d", inst.account, inst.id)),
		RepositorySelection: github.String("selected"),
		Permissions:         appPermissions(),
		Events:              s.appObj().Events,
		CreatedAt:           ts(inst.created),
		UpdatedAt:           ts(inst.created),
	}
}

func (s *Sim) repoObj(r *repo) *github.Repository {
	full := r.fullName()
	return &github.Repository{
		ID:            github.Int64(r.id),
		NodeID:        nodeID("R", r.id),
		Name:          github.String(r.name),
		FullName:      github.String(full),
		Owner:         s.userObj(r.owner),
		Private:       github.Bool(true),
		Visibility:    github.String("private"),
		Fork:          github.Bool(false),
		Archived:      github.Bool(false),
		Disabled:      github.Bool(false),
		DefaultBranch: github.String(r.defaultBranch),
		MasterBranch:  github.String(r.defaultBranch),
		HTMLURL:       github.String(s.webURL("%s", full)),
		URL:           github.String(s.apiURL("repos/%s", full)),
		CloneURL:      github.String(s.webURL("%s.git", full)),
		GitURL:        github.String(s.webURL("%s.git", full)),
		CreatedAt:     ts(r.created),
		UpdatedAt:     ts(r.created),
		PushedAt:      ts(r.created),
	}
}

// association is author_association: how login relates to the repository.
func (s *Sim) association(r *repo, login string) string {
	switch {
	case strings.EqualFold(login, r.owner):
		return "OWNER"
	case s.isOrgMember(r.owner, login):
		return "MEMBER"
	case r.perms[strings.ToLower(login)] != "":
		return "COLLABORATOR"
	default:
		return "NONE"
	}
}

func (s *Sim) isOrgMember(org, login string) bool {
	prefix := strings.ToLower(org) + "/"
	for team, members := range s.st.teams {
		if strings.HasPrefix(team, prefix) && members[strings.ToLower(login)] {
			return true
		}
	}
	return false
}
