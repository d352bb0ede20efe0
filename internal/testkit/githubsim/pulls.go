package githubsim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// prView selects how much of a pull request is rendered: GitHub leaves out
// the expensive fields in lists and sends mergeability as not yet known in
// webhooks.
type prView int

const (
	prList prView = iota
	prFull
	prHook
)

func (s *Sim) headSHA(r *repo, p *pull) string {
	if p.state == "closed" && p.frozenSHA != "" {
		return p.frozenSHA
	}
	if sha, ok := (gitRepo{r.dir}).branchSHA(p.headRef); ok {
		return sha
	}
	return p.frozenSHA
}

func (s *Sim) baseSHA(r *repo, p *pull) string {
	if p.frozenBase != "" {
		return p.frozenBase
	}
	sha, _ := gitRepo{r.dir}.branchSHA(p.baseRef)
	return sha
}

// testMerge computes whether head merges cleanly into base and, like GitHub,
// keeps the would-be merge commit at refs/pull/N/merge. The commit's dates
// are fixed to the PR's creation so the SHA is stable while nothing moves.
func (s *Sim) testMerge(r *repo, p *pull, base, head string) (sha string, clean bool) {
	g := gitRepo{r.dir}
	tree, clean, err := g.mergeTree(base, head)
	if err != nil || !clean {
		return "", false
	}
	gh := identity{name: "GitHub", email: "noreply@github.com", when: p.created}
	sha, err = g.commitTree(tree, []string{base, head}, "Merge "+head+" into "+base, gh, gh)
	if err != nil {
		return "", true
	}
	_, _ = g.run(nil, nil, "update-ref", "refs/pull/"+itoa(p.number)+"/merge", sha)
	return sha, true
}

func (s *Sim) prObj(r *repo, p *pull, view prView) *github.PullRequest {
	full := r.fullName()
	head, base := s.headSHA(r, p), s.baseSHA(r, p)
	branch := func(ref, sha string) *github.PullRequestBranch {
		return &github.PullRequestBranch{
			Label: github.String(r.owner + ":" + ref), Ref: github.String(ref), SHA: github.String(sha),
			Repo: s.repoObj(r), User: s.userObj(r.owner),
		}
	}
	pr := &github.PullRequest{
		ID:                  github.Int64(p.id),
		NodeID:              nodeID("PR", p.id),
		Number:              github.Int(p.number),
		State:               github.String(p.state),
		Locked:              github.Bool(false),
		Title:               github.String(p.title),
		Body:                github.String(p.body),
		User:                s.userObj(p.author),
		Draft:               github.Bool(p.draft),
		Merged:              github.Bool(p.mergedAt != nil),
		CreatedAt:           ts(p.created),
		UpdatedAt:           ts(p.updated),
		Labels:              []*github.Label{},
		Assignees:           []*github.User{},
		RequestedReviewers:  []*github.User{},
		RequestedTeams:      []*github.Team{},
		AuthorAssociation:   github.String(s.association(r, p.author)),
		MaintainerCanModify: github.Bool(false),
		URL:                 github.String(s.apiURL("repos/%s/pulls/%d", full, p.number)),
		HTMLURL:             github.String(s.webURL("%s/pull/%d", full, p.number)),
		IssueURL:            github.String(s.apiURL("repos/%s/issues/%d", full, p.number)),
		DiffURL:             github.String(s.webURL("%s/pull/%d.diff", full, p.number)),
		PatchURL:            github.String(s.webURL("%s/pull/%d.patch", full, p.number)),
		CommitsURL:          github.String(s.apiURL("repos/%s/pulls/%d/commits", full, p.number)),
		CommentsURL:         github.String(s.apiURL("repos/%s/issues/%d/comments", full, p.number)),
		StatusesURL:         github.String(s.apiURL("repos/%s/statuses/%s", full, head)),
		Head:                branch(p.headRef, head),
		Base:                branch(p.baseRef, base),
	}
	if p.headOwner != "" {
		fork := s.repoObj(r)
		fork.FullName, fork.Owner, fork.Fork = github.String(p.headOwner+"/"+r.name), s.userObj(p.headOwner), github.Bool(true)
		fork.ID = github.Int64(-r.id) // an id of its own, never another repository's
		pr.Head.Label, pr.Head.Repo, pr.Head.User = github.String(p.headOwner+":"+p.headRef), fork, s.userObj(p.headOwner)
	}
	if p.closedAt != nil {
		pr.ClosedAt = ts(*p.closedAt)
	}
	if p.mergedAt != nil {
		pr.MergedAt, pr.MergedBy, pr.MergeCommitSHA = ts(*p.mergedAt), s.userObj(p.mergedBy), github.String(p.mergeSHA)
	}
	if view == prList {
		return pr
	}
	s.addCounts(r, p, pr, base, head)
	switch {
	case view == prHook || p.state != "open":
		pr.MergeableState = github.String("unknown")
	default:
		sha, clean := s.testMerge(r, p, base, head)
		pr.Mergeable = github.Bool(clean)
		pr.Rebaseable = github.Bool(clean)
		if sha != "" {
			pr.MergeCommitSHA = github.String(sha)
		}
		pr.MergeableState = github.String(s.mergeableState(r, p, head, clean))
	}
	return pr
}

// addCounts fills the fields only GET /pulls/{n} and webhooks carry.
func (s *Sim) addCounts(r *repo, p *pull, pr *github.PullRequest, base, head string) {
	g := gitRepo{r.dir}
	commits, additions, deletions, changed := 0, 0, 0, 0
	if mb, ok := g.mergeBase(base, head); ok {
		shas, _ := g.revList(mb, head)
		commits = len(shas)
		files, _ := g.diffFiles(mb, head)
		changed = len(files)
		for _, f := range files {
			additions, deletions = additions+f.GetAdditions(), deletions+f.GetDeletions()
		}
	}
	n := 0
	for _, c := range r.comments {
		if c.number == p.number {
			n++
		}
	}
	pr.Commits, pr.Additions, pr.Deletions, pr.ChangedFiles = github.Int(commits), github.Int(additions), github.Int(deletions), github.Int(changed)
	pr.Comments, pr.ReviewComments = github.Int(n), github.Int(0)
}

// mergeableState approximates GitHub's: draft, dirty (conflicts), blocked
// (a required check does not pass), unstable (a status or check that is
// not green) or clean.
func (s *Sim) mergeableState(r *repo, p *pull, head string, clean bool) string {
	switch {
	case p.draft:
		return "draft"
	case !clean:
		return "dirty"
	case s.requiredProblem(r, p.baseRef, head) != "":
		return "blocked"
	case !s.allGreen(r, head):
		return "unstable"
	default:
		return "clean"
	}
}

// pullParam finds {number}; on failure it has answered 404.
func (c *call) pullParam() (*pull, bool) {
	n, ok := c.intParam("number")
	if !ok {
		return nil, false
	}
	p := c.repo.pulls[int(n)]
	if p == nil {
		c.notFound()
		return nil, false
	}
	return p, true
}

func (s *Sim) getPull(c *call) {
	if p, ok := c.pullParam(); ok {
		c.json(http.StatusOK, s.prObj(c.repo, p, prFull))
	}
}

func (s *Sim) listPulls(c *call) {
	state := c.query("state")
	if state == "" {
		state = "open"
	}
	head, base := c.query("head"), c.query("base")
	var numbers []int
	for n, p := range c.repo.pulls {
		if (state == "all" || p.state == state) && (base == "" || p.baseRef == base) &&
			(head == "" || strings.EqualFold(head, c.repo.owner+":"+p.headRef)) {
			numbers = append(numbers, n)
		}
	}
	slices.Sort(numbers)
	if c.query("direction") != "asc" {
		slices.Reverse(numbers)
	}
	out := []*github.PullRequest{}
	for _, n := range page(c, numbers) {
		out = append(out, s.prObj(c.repo, c.repo.pulls[n], prList))
	}
	c.json(http.StatusOK, out)
}

func (s *Sim) listPullFiles(c *call) {
	p, ok := c.pullParam()
	if !ok {
		return
	}
	g := gitRepo{c.repo.dir}
	head := s.headSHA(c.repo, p)
	files := []*github.CommitFile{}
	if mb, ok := g.mergeBase(s.baseSHA(c.repo, p), head); ok {
		var err error
		if files, err = g.diffFiles(mb, head); err != nil {
			c.fail(http.StatusInternalServerError, err.Error())
			return
		}
	}
	full := c.repo.fullName()
	for _, f := range files {
		f.BlobURL = github.String(s.webURL("%s/blob/%s/%s", full, head, pathEscape(f.GetFilename())))
		f.RawURL = github.String(s.webURL("%s/raw/%s/%s", full, head, pathEscape(f.GetFilename())))
		f.ContentsURL = github.String(s.apiURL("repos/%s/contents/%s?ref=%s", full, pathEscape(f.GetFilename()), head))
	}
	c.json(http.StatusOK, page(c, nonNil(files)))
}

func (s *Sim) listPullCommits(c *call) {
	p, ok := c.pullParam()
	if !ok {
		return
	}
	g := gitRepo{c.repo.dir}
	head := s.headSHA(c.repo, p)
	var shas []string
	if mb, ok := g.mergeBase(s.baseSHA(c.repo, p), head); ok {
		shas, _ = g.revList(mb, head)
	}
	out := []*github.RepositoryCommit{}
	for _, sha := range page(c, shas) {
		rc, err := s.repoCommit(c.repo, sha, false)
		if err != nil {
			c.fail(http.StatusInternalServerError, err.Error())
			return
		}
		out = append(out, rc)
	}
	c.json(http.StatusOK, out)
}

func (s *Sim) listReviews(c *call) {
	if p, ok := c.pullParam(); ok {
		c.json(http.StatusOK, page(c, nonNil(clone(c.repo.reviews[p.number]))))
	}
}

func (s *Sim) isMerged(c *call) {
	p, ok := c.pullParam()
	if !ok {
		return
	}
	if p.mergedAt == nil {
		c.notFound()
		return
	}
	c.noContent()
}

func (s *Sim) mergePull(c *call) {
	p, ok := c.pullParam()
	if !ok {
		return
	}
	var req struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if c.r.ContentLength != 0 && !c.decode(&req) {
		return
	}
	res, err := s.merge(c.repo, p, s.BotLogin(), mergeRequest{title: req.CommitTitle, message: req.CommitMessage, sha: req.SHA, method: req.MergeMethod})
	if err != nil {
		c.refuse(err)
		return
	}
	for _, e := range res.events {
		c.emit(e.event, e.payload)
	}
	c.json(http.StatusOK, &github.PullRequestMergeResult{
		SHA: github.String(res.sha), Merged: github.Bool(true), Message: github.String("Pull Request successfully merged"),
	})
}
