package githubsim

import (
	"fmt"

	"github.com/google/go-github/v60/github"
)

// ForcePush rewrites branch as user: one new commit of files on top of
// onto (a branch or SHA; the default branch when empty) replaces whatever
// the branch held, as `git push --force` of a rebased branch does. GitHub
// sends "push" with forced: true and, for every open pull request from
// branch, pull_request "synchronize" whose before is the old head.
func (s *Sim) ForcePush(fullName, branch, onto string, files map[string]string, message, user string) (string, error) {
	var sha string
	err := s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		g := gitRepo{r.dir}
		user = orDefault(user, r.owner)
		before, exists := g.branchSHA(branch)
		if !exists || branch == r.defaultBranch {
			return nil, fmt.Errorf("githubsim: cannot force-push %q of %s: not an existing branch other than the default", branch, fullName)
		}
		base, ok := g.resolve(orDefault(onto, r.defaultBranch))
		if !ok {
			return nil, fmt.Errorf("githubsim: force-push of %s onto %q: no such commit", branch, onto)
		}
		u := s.st.user(user)
		if sha, err = g.commitFilesOn(branch, base, contents(files), orDefault(message, "Rewrite"), noreplyIdentity(u.login, u.id, now()), true); err != nil {
			return nil, err
		}
		return s.pushed(r, g, branch, before, before, sha, user), nil
	})
	return sha, err
}

// pushed is what GitHub sends when branch of r moved from before to sha:
// "push", and "synchronize" (from prev, the pull request's previous head)
// for every open pull request from branch, whose head ref moves along.
func (s *Sim) pushed(r *repo, g gitRepo, branch, before, prev, sha, user string) []outgoing {
	events := []outgoing{{"push", s.pushEvent(r, branch, before, sha, user)}}
	for _, n := range sortedPullNumbers(r) {
		p := r.pulls[n]
		if p.state != "open" || p.headRef != branch {
			continue
		}
		p.updated = now()
		_, _ = g.run(nil, nil, "update-ref", "refs/pull/"+itoa(n)+"/head", sha)
		ev := s.pullRequestEvent("synchronize", r, p, user)
		ev.Before, ev.After = github.String(prev), github.String(sha)
		events = append(events, outgoing{"pull_request", ev})
	}
	return events
}
