package githubsim

import (
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"
)

// Scripted pull request lifecycle: open, edit, draft/ready, close, reopen,
// merge.

// PROptions describes a pull request to open.
type PROptions struct {
	Head, Base  string // branches; Base defaults to the default branch
	Title, Body string
	User        string // author; defaults to the repository owner
	Draft       bool
	// Fork, when set, is the owner of a fork the head branch comes from:
	// head.repo is then OWNER/NAME (fork: true) and head.label OWNER:BRANCH.
	// The branch itself is pushed to the base repository, as GitHub keeps
	// a fork's commits under refs/pull/N/head.
	Fork string
}

// OpenPR opens a pull request from head into base as user and sends
// pull_request "opened".
func (s *Sim) OpenPR(fullName, head, base, title, user string) (int, error) {
	return s.OpenPRWith(fullName, PROptions{Head: head, Base: base, Title: title, User: user})
}

// OpenPRWith is OpenPR with every option, e.g. Draft.
func (s *Sim) OpenPRWith(fullName string, o PROptions) (int, error) {
	var number int
	err := s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		g := gitRepo{r.dir}
		o.Base, o.User = orDefault(o.Base, r.defaultBranch), orDefault(o.User, r.owner)
		head, okHead := g.branchSHA(o.Head)
		base, okBase := g.branchSHA(o.Base)
		if !okHead || !okBase || o.Head == o.Base {
			return nil, refuse(http.StatusUnprocessableEntity, fmt.Sprintf("githubsim: cannot open a pull request from %q into %q", o.Head, o.Base))
		}
		if shas, _ := g.revList(base, head); len(shas) == 0 {
			return nil, refuse(http.StatusUnprocessableEntity, fmt.Sprintf("No commits between %s and %s", o.Base, o.Head))
		}
		for _, p := range r.pulls {
			if p.state == "open" && p.headRef == o.Head && p.baseRef == o.Base {
				return nil, refuse(http.StatusUnprocessableEntity, fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, o.Head))
			}
		}
		r.nextNumber++
		number = r.nextNumber
		t := now()
		p := &pull{
			id: s.st.next("pull"), issueID: s.st.next("issue"), number: number, title: o.Title, body: o.Body,
			author: o.User, headRef: o.Head, baseRef: o.Base, draft: o.Draft, state: "open", created: t, updated: t,
			headOwner: o.Fork,
		}
		r.pulls[number] = p
		_, _ = g.run(nil, nil, "update-ref", "refs/pull/"+itoa(number)+"/head", head)
		return []outgoing{{"pull_request", s.pullRequestEvent("opened", r, p, o.User)}}, nil
	})
	return number, err
}

// updatePull applies change to an existing pull request and sends
// pull_request with action; change may refuse.
func (s *Sim) updatePull(fullName string, number int, user, action string, change func(*repo, *pull) (*github.EditChange, error)) error {
	return s.act(func() ([]outgoing, error) {
		r, p, err := s.pullLocked(fullName, number)
		if err != nil {
			return nil, err
		}
		edit, err := change(r, p)
		if err != nil {
			return nil, err
		}
		p.updated = now()
		ev := s.pullRequestEvent(action, r, p, orDefault(user, p.author))
		ev.Changes = edit
		return []outgoing{{"pull_request", ev}}, nil
	})
}

// ClosePR closes without merging and sends pull_request "closed".
func (s *Sim) ClosePR(fullName string, number int, user string) error {
	return s.updatePull(fullName, number, user, "closed", func(r *repo, p *pull) (*github.EditChange, error) {
		if p.state != "open" {
			return nil, refuse(http.StatusUnprocessableEntity, "pull request is not open")
		}
		s.closePull(r, p, s.headSHA(r, p))
		return nil, nil
	})
}

// ReopenPR reopens a closed, unmerged pull request ("reopened").
func (s *Sim) ReopenPR(fullName string, number int, user string) error {
	return s.updatePull(fullName, number, user, "reopened", func(r *repo, p *pull) (*github.EditChange, error) {
		if p.state != "closed" || p.mergedAt != nil {
			return nil, refuse(http.StatusUnprocessableEntity, "pull request is not closed or was merged")
		}
		if _, ok := (gitRepo{r.dir}).branchSHA(p.headRef); !ok {
			return nil, refuse(http.StatusUnprocessableEntity, "head branch was deleted")
		}
		p.state, p.closedAt, p.frozenSHA = "open", nil, ""
		return nil, nil
	})
}

// MarkReady takes a draft out of draft ("ready_for_review").
func (s *Sim) MarkReady(fullName string, number int, user string) error {
	return s.updatePull(fullName, number, user, "ready_for_review", func(_ *repo, p *pull) (*github.EditChange, error) {
		if !p.draft {
			return nil, refuse(http.StatusUnprocessableEntity, "pull request is not a draft")
		}
		p.draft = false
		return nil, nil
	})
}

// ConvertToDraft makes a pull request a draft ("converted_to_draft").
func (s *Sim) ConvertToDraft(fullName string, number int, user string) error {
	return s.updatePull(fullName, number, user, "converted_to_draft", func(_ *repo, p *pull) (*github.EditChange, error) {
		if p.draft || p.state != "open" {
			return nil, refuse(http.StatusUnprocessableEntity, "pull request is already a draft or not open")
		}
		p.draft = true
		return nil, nil
	})
}

// EditPR changes title and body ("edited", with changes.*.from).
func (s *Sim) EditPR(fullName string, number int, user, title, body string) error {
	return s.updatePull(fullName, number, user, "edited", func(_ *repo, p *pull) (*github.EditChange, error) {
		edit := &github.EditChange{}
		if title != p.title {
			edit.Title = &github.EditTitle{From: github.String(p.title)}
		}
		if body != p.body {
			edit.Body = &github.EditBody{From: github.String(p.body)}
		}
		p.title, p.body = title, body
		return edit, nil
	})
}

// MergeOptions chooses how MergeWith merges.
type MergeOptions struct {
	Method         string // "merge" (default) or "squash"
	Title, Message string // commit title and message; GitHub's defaults if empty
}

// Merge merges as user with a real --no-ff merge commit on the base branch
// and sends pull_request "closed" (merged) and the push to the base.
func (s *Sim) Merge(fullName string, number int, user string) (string, error) {
	return s.MergeWith(fullName, number, user, MergeOptions{})
}

// MergeWith is Merge with a merge method and commit message.
func (s *Sim) MergeWith(fullName string, number int, user string, o MergeOptions) (string, error) {
	var sha string
	err := s.act(func() ([]outgoing, error) {
		r, p, err := s.pullLocked(fullName, number)
		if err != nil {
			return nil, err
		}
		res, err := s.merge(r, p, orDefault(user, r.owner), mergeRequest{title: o.Title, message: o.Message, method: o.Method})
		sha = res.sha
		return res.events, err
	})
	return sha, err
}
