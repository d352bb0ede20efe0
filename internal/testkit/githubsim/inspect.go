package githubsim

import (
	"github.com/google/go-github/v60/github"
)

// State inspection for assertions. Everything returned is a copy, rendered
// exactly as the REST API would render it; unknown repositories or objects
// give nil.

// withRepo runs fn under the lock if fullName exists.
func withRepo[T any](s *Sim, fullName string, fn func(*repo) T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	r := s.st.repo(fullName)
	if r == nil {
		return zero
	}
	return fn(r)
}

// Comments lists the comments on pull request number, oldest first.
func (s *Sim) Comments(fullName string, number int) []*github.IssueComment {
	return withRepo(s, fullName, func(r *repo) []*github.IssueComment {
		var out []*github.IssueComment
		for _, c := range r.comments {
			if c.number == number {
				out = append(out, s.commentObj(r, c))
			}
		}
		return out
	})
}

// Reactions lists the reactions to a comment, oldest first.
func (s *Sim) Reactions(fullName string, commentID int64) []*github.Reaction {
	return withRepo(s, fullName, func(r *repo) []*github.Reaction { return clone(r.reactions[commentID]) })
}

// Reviews lists the reviews of pull request number, oldest first.
func (s *Sim) Reviews(fullName string, number int) []*github.PullRequestReview {
	return withRepo(s, fullName, func(r *repo) []*github.PullRequestReview { return clone(r.reviews[number]) })
}

// CheckRuns lists every check run in the repository, oldest first.
func (s *Sim) CheckRuns(fullName string) []*github.CheckRun {
	return withRepo(s, fullName, func(r *repo) []*github.CheckRun {
		var out []*github.CheckRun
		for _, cr := range r.checkRuns {
			out = append(out, s.checkRunObj(r, cr))
		}
		return out
	})
}

// CheckRunAnnotations lists all annotations check run id accumulated over
// its updates (check run IDs are unique across repositories).
func (s *Sim) CheckRunAnnotations(id int64) []*github.CheckRunAnnotation {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.st.repos {
		if cr := r.checkRun(id); cr != nil {
			return clone(cr.annotations)
		}
	}
	return nil
}

// Deployments lists deployments, oldest first.
func (s *Sim) Deployments(fullName string) []*github.Deployment {
	return withRepo(s, fullName, func(r *repo) []*github.Deployment {
		var out []*github.Deployment
		for _, d := range r.deployments {
			out = append(out, clone(d.d))
		}
		return out
	})
}

// DeploymentStatuses lists a deployment's statuses, oldest first.
func (s *Sim) DeploymentStatuses(fullName string, id int64) []*github.DeploymentStatus {
	return withRepo(s, fullName, func(r *repo) []*github.DeploymentStatus {
		if d := r.deployment(id); d != nil {
			return clone(d.statuses)
		}
		return nil
	})
}

// Statuses lists the commit statuses of sha, oldest first.
func (s *Sim) Statuses(fullName, sha string) []*github.RepoStatus {
	return withRepo(s, fullName, func(r *repo) []*github.RepoStatus {
		var out []*github.RepoStatus
		for _, st := range r.statuses {
			if st.sha == sha {
				out = append(out, clone(st.s))
			}
		}
		return out
	})
}

// PR renders pull request number as GET /pulls/{number} would.
func (s *Sim) PR(fullName string, number int) *github.PullRequest {
	return withRepo(s, fullName, func(r *repo) *github.PullRequest {
		if p := r.pulls[number]; p != nil {
			return s.prObj(r, p, prFull)
		}
		return nil
	})
}

// Repo describes a repository, or nil.
func (s *Sim) Repo(fullName string) *Repo {
	return withRepo(s, fullName, func(r *repo) *Repo {
		return &Repo{ID: r.id, Owner: r.owner, Name: r.name, FullName: r.fullName(),
			DefaultBranch: r.defaultBranch, InstallationID: r.installationID, Dir: r.dir}
	})
}

// File reads path at ref (branch, tag or SHA); ok is false if absent.
func (s *Sim) File(fullName, ref, path string) (content string, ok bool) {
	type result struct {
		s  string
		ok bool
	}
	res := withRepo(s, fullName, func(r *repo) result {
		g := gitRepo{r.dir}
		sha, found := g.resolve(ref)
		if !found {
			return result{}
		}
		e, found := g.entry(sha, path)
		if !found || e.typ != "blob" {
			return result{}
		}
		b, err := g.blob(e.sha)
		return result{string(b), err == nil}
	})
	return res.s, res.ok
}

// WebhookURL is where webhooks are delivered now.
func (s *Sim) WebhookURL() string { return s.webhookURL() }

// IsAncestor reports whether commit a is reachable from commit b in
// repository fullName (a commit is its own ancestor).
func (s *Sim) IsAncestor(fullName, a, b string) bool {
	s.mu.Lock()
	r := s.st.repo(fullName)
	s.mu.Unlock()
	return r != nil && gitRepo{r.dir}.isAncestor(a, b)
}
