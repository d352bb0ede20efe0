package githubsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Merging a pull request, shared by PUT /pulls/{n}/merge and Sim.Merge.

type mergeRequest struct {
	title, message, sha, method string
}

type mergeResult struct {
	sha    string
	events []outgoing
}

// merge creates a real merge (or squash) commit on the base branch, closes
// the pull request and returns the webhooks GitHub sends for it: the
// pull_request "closed" event and the push to the base branch.
func (s *Sim) merge(r *repo, p *pull, by string, req mergeRequest) (mergeResult, error) {
	if p.state != "open" {
		return mergeResult{}, refuse(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	if p.draft {
		return mergeResult{}, refuse(http.StatusMethodNotAllowed, "Pull Request is still a draft")
	}
	g := gitRepo{r.dir}
	head, base := s.headSHA(r, p), s.baseSHA(r, p)
	if req.sha != "" && req.sha != head {
		return mergeResult{}, refuse(http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	}
	if err := s.protectionRefusal(r, p.baseRef, head); err != nil {
		return mergeResult{}, err
	}
	tree, clean, err := g.mergeTree(base, head)
	if err != nil {
		return mergeResult{}, err
	}
	if !clean {
		return mergeResult{}, refuse(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	parents := []string{base, head}
	title, message := req.title, req.message
	switch req.method {
	case "", "merge":
		title = orDefault(title, fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, r.owner, p.headRef))
		message = orDefault(message, p.title)
	case "squash":
		parents = parents[:1]
		title = orDefault(title, fmt.Sprintf("%s (#%d)", p.title, p.number))
		if message == "" {
			message = s.squashMessage(g, base, head)
		}
	default:
		return mergeResult{}, refuse(http.StatusUnprocessableEntity, "Invalid merge_method (githubsim supports merge and squash)")
	}
	t := now()
	u := s.st.user(by)
	author := noreplyIdentity(u.login, u.id, t)
	committer := identity{name: "GitHub", email: "noreply@github.com", when: t}
	sha, err := g.commitTree(tree, parents, strings.TrimSpace(title+"\n\n"+message)+"\n", author, committer)
	if err != nil {
		return mergeResult{}, err
	}
	if err := g.updateRef("refs/heads/"+p.baseRef, sha, base); err != nil {
		return mergeResult{}, refuse(http.StatusConflict, "Base branch was modified. Review and try the merge again.")
	}
	p.state, p.closedAt, p.mergedAt, p.mergedBy, p.mergeSHA = "closed", &t, &t, by, sha
	p.frozenSHA, p.frozenBase, p.updated = head, base, t
	return mergeResult{sha: sha, events: []outgoing{
		{"pull_request", s.pullRequestEvent("closed", r, p, by)},
		{"push", s.pushEvent(r, p.baseRef, base, sha, by)},
	}}, nil
}

// squashMessage lists the squashed commits the way GitHub pre-fills it.
func (s *Sim) squashMessage(g gitRepo, base, head string) string {
	mb, ok := g.mergeBase(base, head)
	if !ok {
		return ""
	}
	shas, _ := g.revList(mb, head)
	var lines []string
	for _, sha := range shas {
		if ci, err := g.commit(sha); err == nil {
			lines = append(lines, "* "+ci.message)
		}
	}
	return strings.Join(lines, "\n\n")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }
