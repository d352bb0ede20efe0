package githubsim

import (
	"strings"

	"github.com/google/go-github/v60/github"
)

// Webhook payload builders; callers hold Sim.mu. Every repository event
// carries installation{id}, repository, sender and, for organisations,
// organization, as GitHub's do.

// pushCommitLimit is how many commits GitHub lists in a push payload.
const pushCommitLimit = 20

func (s *Sim) orgObj(login string) *github.Organization {
	u := s.st.user(login)
	if u.typ != "Organization" {
		return nil
	}
	return &github.Organization{Login: github.String(u.login), ID: github.Int64(u.id), NodeID: nodeID("O", u.id)}
}

func (s *Sim) pullRequestEvent(action string, r *repo, p *pull, sender string) *github.PullRequestEvent {
	return &github.PullRequestEvent{
		Action:       github.String(action),
		Number:       github.Int(p.number),
		PullRequest:  s.prObj(r, p, prHook),
		Repo:         s.repoObj(r),
		Sender:       s.userObj(sender),
		Installation: installationRef(r.installationID),
		Organization: s.orgObj(r.owner),
	}
}

// issueObj is the issue side of a pull request, as issue_comment events
// carry it (pull_request set marks it as a PR).
func (s *Sim) issueObj(r *repo, p *pull) *github.Issue {
	full := r.fullName()
	pr := s.prObj(r, p, prList)
	n := 0
	for _, c := range r.comments {
		if c.number == p.number {
			n++
		}
	}
	iss := &github.Issue{
		ID:                github.Int64(p.issueID),
		NodeID:            nodeID("I", p.issueID),
		Number:            github.Int(p.number),
		State:             github.String(p.state),
		Locked:            github.Bool(false),
		Title:             github.String(p.title),
		Body:              github.String(p.body),
		User:              pr.User,
		Labels:            []*github.Label{},
		Assignees:         []*github.User{},
		Comments:          github.Int(n),
		AuthorAssociation: pr.AuthorAssociation,
		Draft:             github.Bool(p.draft),
		CreatedAt:         pr.CreatedAt,
		UpdatedAt:         pr.UpdatedAt,
		ClosedAt:          pr.ClosedAt,
		URL:               github.String(s.apiURL("repos/%s/issues/%d", full, p.number)),
		HTMLURL:           pr.HTMLURL,
		CommentsURL:       github.String(s.apiURL("repos/%s/issues/%d/comments", full, p.number)),
		RepositoryURL:     github.String(s.apiURL("repos/%s", full)),
		PullRequestLinks: &github.PullRequestLinks{
			URL: pr.URL, HTMLURL: pr.HTMLURL, DiffURL: pr.DiffURL, PatchURL: pr.PatchURL, MergedAt: pr.MergedAt,
		},
	}
	return iss
}

func (s *Sim) issueCommentEvent(action string, r *repo, c *comment, sender string, changes *github.EditChange) *github.IssueCommentEvent {
	return &github.IssueCommentEvent{
		Action:       github.String(action),
		Issue:        s.issueObj(r, r.pulls[c.number]),
		Comment:      s.commentObj(r, c),
		Changes:      changes,
		Repo:         s.repoObj(r),
		Sender:       s.userObj(sender),
		Installation: installationRef(r.installationID),
		Organization: s.orgObj(r.owner),
	}
}

// reviewEvent lower-cases the review state: webhooks say "approved" where
// the REST API says "APPROVED".
func (s *Sim) reviewEvent(action string, r *repo, p *pull, rv *github.PullRequestReview, sender string) *github.PullRequestReviewEvent {
	hookReview := clone(rv)
	hookReview.State = github.String(strings.ToLower(rv.GetState()))
	return &github.PullRequestReviewEvent{
		Action:       github.String(action),
		Review:       hookReview,
		PullRequest:  s.prObj(r, p, prHook),
		Repo:         s.repoObj(r),
		Sender:       s.userObj(sender),
		Installation: installationRef(r.installationID),
		Organization: s.orgObj(r.owner),
	}
}

func (s *Sim) checkRunEvent(action string, r *repo, cr *checkRun, sender string) *github.CheckRunEvent {
	return &github.CheckRunEvent{
		Action:       github.String(action),
		CheckRun:     s.checkRunObj(r, cr),
		Repo:         s.repoObj(r),
		Org:          s.orgObj(r.owner),
		Sender:       s.userObj(sender),
		Installation: installationRef(r.installationID),
	}
}

// pushEvent describes moving ref from before to after (zeroSHA for a
// created or deleted branch).
func (s *Sim) pushEvent(r *repo, branch, before, after, pusher string) *github.PushEvent {
	g := gitRepo{r.dir}
	full := r.fullName()
	var shas []string
	switch {
	case after == zeroSHA:
	case before == zeroSHA && branch != r.defaultBranch:
		shas, _ = g.revList("", after, "refs/heads/"+r.defaultBranch)
	default:
		shas, _ = g.revList(before, after)
	}
	if len(shas) > pushCommitLimit {
		shas = shas[len(shas)-pushCommitLimit:]
	}
	commits := []*github.HeadCommit{}
	for _, sha := range shas {
		if hc := s.headCommit(r, sha); hc != nil {
			commits = append(commits, hc)
		}
	}
	ru := s.repoObj(r)
	u := s.st.user(pusher)
	ev := &github.PushEvent{
		Ref:     github.String("refs/heads/" + branch),
		Before:  github.String(before),
		After:   github.String(after),
		Created: github.Bool(before == zeroSHA),
		Deleted: github.Bool(after == zeroSHA),
		Forced:  github.Bool(before != zeroSHA && after != zeroSHA && !g.isAncestor(before, after)),
		Compare: github.String(s.webURL("%s/compare/%s...%s", full, before[:12], after[:12])),
		Commits: commits,
		Pusher:  &github.CommitAuthor{Name: github.String(u.login), Email: github.String(noreplyIdentity(u.login, u.id, now()).email)},
		Repo: &github.PushEventRepository{
			ID: ru.ID, NodeID: ru.NodeID, Name: ru.Name, FullName: ru.FullName, Owner: ru.Owner,
			Private: ru.Private, Fork: ru.Fork, HTMLURL: ru.HTMLURL, URL: ru.URL, CloneURL: ru.CloneURL,
			GitURL: ru.GitURL, DefaultBranch: ru.DefaultBranch, MasterBranch: ru.MasterBranch,
			CreatedAt: ru.CreatedAt, PushedAt: ts(now()), UpdatedAt: ru.UpdatedAt,
			Archived: ru.Archived, Disabled: ru.Disabled, Organization: orgLogin(s.orgObj(r.owner)),
		},
		Sender:       s.userObj(pusher),
		Installation: installationRef(r.installationID),
		Organization: s.orgObj(r.owner),
	}
	if len(commits) > 0 {
		ev.HeadCommit = commits[len(commits)-1]
	} else if after != zeroSHA {
		ev.HeadCommit = s.headCommit(r, after)
	}
	return ev
}

func orgLogin(o *github.Organization) *string {
	if o == nil {
		return nil
	}
	return o.Login
}

func (s *Sim) headCommit(r *repo, sha string) *github.HeadCommit {
	g := gitRepo{r.dir}
	ci, err := g.commit(sha)
	if err != nil {
		return nil
	}
	added, removed, modified := g.changedPaths(ci)
	author := func(id identity) *github.CommitAuthor {
		a := &github.CommitAuthor{Name: github.String(id.name), Email: github.String(id.email)}
		if login := noreplyLogin(id.email); login != "" {
			a.Login = github.String(login)
		}
		return a
	}
	return &github.HeadCommit{
		ID:        github.String(ci.sha),
		TreeID:    github.String(ci.tree),
		Distinct:  github.Bool(true),
		Message:   github.String(ci.message),
		Timestamp: ts(ci.committer.when),
		URL:       github.String(s.webURL("%s/commit/%s", r.fullName(), ci.sha)),
		Author:    author(ci.author),
		Committer: author(ci.committer),
		Added:     added,
		Removed:   removed,
		Modified:  modified,
	}
}
