package githubsim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Merge queues: pull requests queued for a branch are merged, in order,
// onto a temporary gh-readonly-queue/BRANCH/pr-N-SHA branch (the merge
// group); GitHub asks for the branch's required checks on the group's head
// with merge_group "checks_requested", and once they pass it fast-forwards
// the branch to that head, each pull request merged by its own commit
// there.

// mergeQueueBot is the user GitHub shows merging queued pull requests.
const mergeQueueBot = "github-merge-queue[bot]"

// MergeGroup is a queued merge group as tests see it.
type MergeGroup struct {
	HeadRef string // refs/heads/gh-readonly-queue/BASE/pr-N-BASESHA, N the last pull request
	HeadSHA string // the commit the checks are asked of
	BaseRef string // refs/heads/BASE
	BaseSHA string // the base branch's head the group was built on
	PRs     []int  // in queue order
	// Commits are each pull request's merge commit in the group, in queue
	// order; the last is HeadSHA.
	Commits []string
}

type mergeGroup struct {
	MergeGroup
	base   string // the base branch's name
	sender string
}

// QueueMerge adds prs, in order, to their base branch's merge queue as one
// merge group (as with a minimum group size): each must be open, ready,
// pass the branch's required checks at its head and merge cleanly onto the
// ones before it. It pushes the group's branch and sends push (created)
// and merge_group "checks_requested", as queued by the first pull
// request's author. One group per branch may wait at a time.
func (s *Sim) QueueMerge(fullName string, prs ...int) (MergeGroup, error) {
	var out MergeGroup
	err := s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		g, err := s.buildGroup(r, prs)
		if err != nil {
			return nil, err
		}
		r.queues[g.base] = g
		out = g.MergeGroup
		out.PRs, out.Commits = append([]int(nil), g.PRs...), append([]string(nil), g.Commits...)
		return []outgoing{
			{"push", s.pushEvent(r, strings.TrimPrefix(g.HeadRef, "refs/heads/"), zeroSHA, g.HeadSHA, mergeQueueBot)},
			{"merge_group", s.mergeGroupEvent("checks_requested", "", r, g)},
		}, nil
	})
	return out, err
}

// buildGroup merges prs onto their base branch's head, one merge commit
// each, and creates the group's branch; callers hold Sim.mu.
func (s *Sim) buildGroup(r *repo, numbers []int) (*mergeGroup, error) {
	if len(numbers) == 0 {
		return nil, fmt.Errorf("githubsim: QueueMerge needs a pull request")
	}
	g := gitRepo{r.dir}
	var group *mergeGroup
	for _, n := range numbers {
		p := r.pulls[n]
		switch {
		case p == nil:
			return nil, fmt.Errorf("githubsim: no pull request %s#%d", r.fullName(), n)
		case p.state != "open" || p.draft:
			return nil, refuse(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		case group == nil:
			base, ok := g.branchSHA(p.baseRef)
			if !ok {
				return nil, fmt.Errorf("githubsim: no branch %s", p.baseRef)
			}
			if r.queues[p.baseRef] != nil {
				return nil, fmt.Errorf("githubsim: a merge group for %s is already queued; complete it first", p.baseRef)
			}
			group = &mergeGroup{base: p.baseRef, sender: p.author, MergeGroup: MergeGroup{BaseRef: "refs/heads/" + p.baseRef, BaseSHA: base, HeadSHA: base}}
		case p.baseRef != group.base:
			return nil, fmt.Errorf("githubsim: #%d merges into %s, not %s", n, p.baseRef, group.base)
		}
		head := s.headSHA(r, p)
		if err := s.protectionRefusal(r, p.baseRef, head); err != nil {
			return nil, err
		}
		tree, clean, err := g.mergeTree(group.HeadSHA, head)
		if err != nil {
			return nil, err
		}
		if !clean {
			return nil, refuse(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		}
		t := now()
		u := s.st.user(p.author)
		msg := fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s\n", p.number, r.owner, p.headRef, p.title)
		sha, err := g.commitTree(tree, []string{group.HeadSHA, head}, msg, noreplyIdentity(u.login, u.id, t), identity{name: "GitHub", email: "noreply@github.com", when: t})
		if err != nil {
			return nil, err
		}
		group.HeadSHA = sha
		group.PRs, group.Commits = append(group.PRs, n), append(group.Commits, sha)
	}
	group.HeadRef = fmt.Sprintf("refs/heads/gh-readonly-queue/%s/pr-%d-%s", group.base, group.PRs[len(group.PRs)-1], group.BaseSHA)
	if err := g.updateRef(group.HeadRef, group.HeadSHA, ""); err != nil {
		return nil, err
	}
	return group, nil
}

// CompleteMergeQueue lands base's merge group (base "" is the default
// branch) once the branch's required checks pass on the group's head: it
// fast-forwards base to the head, marks each pull request merged by its own
// commit in the group, deletes the group's branch and sends push, the
// pull_request "closed" events and merge_group "destroyed". It returns the
// new head. Checks that do not pass refuse it (405, GitHub's message) and
// leave the group queued; a base that moved meanwhile refuses it (409).
func (s *Sim) CompleteMergeQueue(fullName, base string) (string, error) {
	var head string
	err := s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		base = orDefault(base, r.defaultBranch)
		grp := r.queues[base]
		if grp == nil {
			return nil, fmt.Errorf("githubsim: no merge group queued for %s", base)
		}
		if err := s.protectionRefusal(r, base, grp.HeadSHA); err != nil {
			return nil, err
		}
		g := gitRepo{r.dir}
		if err := g.updateRef("refs/heads/"+base, grp.HeadSHA, grp.BaseSHA); err != nil {
			return nil, refuse(http.StatusConflict, "Base branch was modified. The merge group must be rebuilt.")
		}
		delete(r.queues, base)
		_ = g.deleteRef(grp.HeadRef)
		head = grp.HeadSHA
		events := []outgoing{{"push", s.pushEvent(r, base, grp.BaseSHA, grp.HeadSHA, mergeQueueBot)}}
		t := now()
		for i, n := range grp.PRs {
			p := r.pulls[n]
			p.frozenSHA, p.frozenBase = s.headSHA(r, p), grp.BaseSHA
			p.state, p.closedAt, p.mergedAt, p.mergedBy, p.mergeSHA, p.updated = "closed", &t, &t, mergeQueueBot, grp.Commits[i], t
			events = append(events, outgoing{"pull_request", s.pullRequestEvent("closed", r, p, mergeQueueBot)})
		}
		return append(events,
			outgoing{"merge_group", s.mergeGroupEvent("destroyed", "merged", r, grp)},
			outgoing{"push", s.pushEvent(r, strings.TrimPrefix(grp.HeadRef, "refs/heads/"), grp.HeadSHA, zeroSHA, mergeQueueBot)},
		), nil
	})
	return head, err
}

// mergeGroupPayload is merge_group as GitHub sends it. go-github's
// MergeGroupEvent reads it, but its head_commit is a Commit (sha, …) where
// GitHub sends a push-style commit (id, tree_id, …), and it has no reason.
type mergeGroupPayload struct {
	Action       string               `json:"action"`
	Reason       string               `json:"reason,omitempty"` // destroyed: merged, invalidated or dequeued
	MergeGroup   mergeGroupObj        `json:"merge_group"`
	Repo         *github.Repository   `json:"repository"`
	Org          *github.Organization `json:"organization,omitempty"`
	Installation *github.Installation `json:"installation"`
	Sender       *github.User         `json:"sender"`
}

type mergeGroupObj struct {
	HeadSHA    string             `json:"head_sha"`
	HeadRef    string             `json:"head_ref"`
	BaseSHA    string             `json:"base_sha"`
	BaseRef    string             `json:"base_ref"`
	HeadCommit *github.HeadCommit `json:"head_commit"`
}

func (s *Sim) mergeGroupEvent(action, reason string, r *repo, g *mergeGroup) *mergeGroupPayload {
	var hc *github.HeadCommit
	if full := s.headCommit(r, g.HeadSHA); full != nil {
		person := func(a *github.CommitAuthor) *github.CommitAuthor {
			return &github.CommitAuthor{Name: a.Name, Email: a.Email}
		}
		hc = &github.HeadCommit{ID: full.ID, TreeID: full.TreeID, Message: full.Message, Timestamp: full.Timestamp,
			Author: person(full.Author), Committer: person(full.Committer)}
	}
	return &mergeGroupPayload{
		Action:       action,
		Reason:       reason,
		MergeGroup:   mergeGroupObj{HeadSHA: g.HeadSHA, HeadRef: g.HeadRef, BaseSHA: g.BaseSHA, BaseRef: g.BaseRef, HeadCommit: hc},
		Repo:         s.repoObj(r),
		Org:          s.orgObj(r.owner),
		Installation: installationRef(r.installationID),
		Sender:       s.userObj(g.sender),
	}
}
