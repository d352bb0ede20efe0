package githubsim

import (
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

// Issue comments on pull requests, and reactions to them.

// maxCommentBody is GitHub's limit on comment bodies, in characters.
const maxCommentBody = 65536

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

func checkCommentBody(body string) error {
	if body == "" {
		return refuse(http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.")
	}
	if utf8.RuneCountInString(body) > maxCommentBody {
		return invalidField("IssueComment", "data", "unprocessable", "Body is too long (maximum is 65536 characters)")
	}
	return nil
}

// addComment stores a new comment by login on pull request number.
func (s *Sim) addComment(r *repo, number int, login, body string) (*comment, error) {
	p := r.pulls[number]
	if p == nil {
		return nil, refuse(http.StatusNotFound, "Not Found")
	}
	if err := checkCommentBody(body); err != nil {
		return nil, err
	}
	id := s.st.next("comment")
	t := now()
	full := r.fullName()
	c := &comment{number: number, c: &github.IssueComment{
		ID:                github.Int64(id),
		NodeID:            nodeID("IC", id),
		Body:              github.String(body),
		User:              s.userObj(login),
		CreatedAt:         ts(t),
		UpdatedAt:         ts(t),
		AuthorAssociation: github.String(s.association(r, login)),
		URL:               github.String(s.apiURL("repos/%s/issues/comments/%d", full, id)),
		HTMLURL:           github.String(s.webURL("%s/pull/%d#issuecomment-%d", full, number, id)),
		IssueURL:          github.String(s.apiURL("repos/%s/issues/%d", full, number)),
	}}
	r.comments = append(r.comments, c)
	p.updated = t
	return c, nil
}

func (r *repo) comment(id int64) *comment {
	for _, c := range r.comments {
		if c.c.GetID() == id {
			return c
		}
	}
	return nil
}

func (r *repo) removeComment(id int64) {
	r.comments = slices.DeleteFunc(r.comments, func(c *comment) bool { return c.c.GetID() == id })
	delete(r.reactions, id)
}

// commentObj adds the reactions summary GitHub embeds in comments.
func (s *Sim) commentObj(r *repo, c *comment) *github.IssueComment {
	out := clone(c.c)
	counts := map[string]int{}
	for _, rx := range r.reactions[c.c.GetID()] {
		counts[rx.GetContent()]++
	}
	out.Reactions = &github.Reactions{
		TotalCount: github.Int(len(r.reactions[c.c.GetID()])),
		PlusOne:    github.Int(counts["+1"]), MinusOne: github.Int(counts["-1"]),
		Laugh: github.Int(counts["laugh"]), Confused: github.Int(counts["confused"]),
		Heart: github.Int(counts["heart"]), Hooray: github.Int(counts["hooray"]),
		Rocket: github.Int(counts["rocket"]), Eyes: github.Int(counts["eyes"]),
		URL: github.String(s.apiURL("repos/%s/issues/comments/%d/reactions", r.fullName(), c.c.GetID())),
	}
	return out
}

// issuesGetRoute serves GET issues/{number}/comments and
// issues/comments/{id}, whose patterns would otherwise overlap.
func (s *Sim) issuesGetRoute(c *call) {
	a, b := c.r.PathValue("a"), c.r.PathValue("b")
	switch {
	case a == "comments":
		c.r.SetPathValue("id", b)
		s.getComment(c)
	case b == "comments":
		c.r.SetPathValue("number", a)
		s.listComments(c)
	default:
		s.unsupported(c.w, c.r)
	}
}

func (s *Sim) listComments(c *call) {
	p, ok := c.pullParam()
	if !ok {
		return
	}
	// since: only comments updated at or after it, as GitHub filters.
	var since time.Time
	if v := c.query("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			c.invalid("IssueComment", "since", "invalid", "since must be an ISO 8601 timestamp")
			return
		}
		since = t
	}
	out := []*github.IssueComment{}
	for _, cm := range c.repo.comments {
		if cm.number == p.number && !cm.c.GetUpdatedAt().Time.Before(since) {
			out = append(out, s.commentObj(c.repo, cm))
		}
	}
	c.json(http.StatusOK, page(c, out))
}

// commentParam finds {id}; on failure it has answered 404.
func (c *call) commentParam() (*comment, bool) {
	id, ok := c.intParam("id")
	if !ok {
		return nil, false
	}
	cm := c.repo.comment(id)
	if cm == nil {
		c.notFound()
	}
	return cm, cm != nil
}

func (s *Sim) getComment(c *call) {
	if cm, ok := c.commentParam(); ok {
		c.json(http.StatusOK, s.commentObj(c.repo, cm))
	}
}

func (s *Sim) createComment(c *call) {
	var req struct {
		Body string `json:"body"`
	}
	n, ok := c.intParam("number")
	if !ok || !c.decode(&req) {
		return
	}
	cm, err := s.addComment(c.repo, int(n), s.BotLogin(), req.Body)
	if err != nil {
		c.refuse(err)
		return
	}
	c.emit("issue_comment", s.issueCommentEvent("created", c.repo, cm, s.BotLogin(), nil))
	c.json(http.StatusCreated, s.commentObj(c.repo, cm))
}

func (s *Sim) editComment(c *call) {
	cm, ok := c.commentParam()
	if !ok {
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if !c.decode(&req) {
		return
	}
	if err := checkCommentBody(req.Body); err != nil {
		c.refuse(err)
		return
	}
	old := cm.c.GetBody()
	cm.c.Body, cm.c.UpdatedAt = github.String(req.Body), ts(now())
	c.emit("issue_comment", s.issueCommentEvent("edited", c.repo, cm, s.BotLogin(),
		&github.EditChange{Body: &github.EditBody{From: github.String(old)}}))
	c.json(http.StatusOK, s.commentObj(c.repo, cm))
}

func (s *Sim) deleteComment(c *call) {
	cm, ok := c.commentParam()
	if !ok {
		return
	}
	ev := s.issueCommentEvent("deleted", c.repo, cm, s.BotLogin(), nil)
	c.repo.removeComment(cm.c.GetID())
	c.emit("issue_comment", ev)
	c.noContent()
}

// addReaction is idempotent per user and content, as on GitHub; created
// tells whether it is new.
func (s *Sim) addReaction(r *repo, commentID int64, login, content string) (rx *github.Reaction, created bool, err error) {
	if r.comment(commentID) == nil {
		return nil, false, refuse(http.StatusNotFound, "Not Found")
	}
	if !slices.Contains(reactionContents, content) {
		return nil, false, invalidField("Reaction", "content", "invalid", "content is not included in the list")
	}
	for _, existing := range r.reactions[commentID] {
		if existing.GetContent() == content && existing.GetUser().GetLogin() == login {
			return existing, false, nil
		}
	}
	id := s.st.next("reaction")
	rx = &github.Reaction{ID: github.Int64(id), NodeID: nodeID("REA", id), User: s.userObj(login), Content: github.String(content)}
	r.reactions[commentID] = append(r.reactions[commentID], rx)
	return rx, true, nil
}

func (s *Sim) createReaction(c *call) {
	id, ok := c.intParam("id")
	var req struct {
		Content string `json:"content"`
	}
	if !ok || !c.decode(&req) {
		return
	}
	rx, created, err := s.addReaction(c.repo, id, s.BotLogin(), req.Content)
	if err != nil {
		c.refuse(err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.json(status, clone(rx))
}

func (s *Sim) listReactions(c *call) {
	cm, ok := c.commentParam()
	if !ok {
		return
	}
	out := []*github.Reaction{}
	for _, rx := range c.repo.reactions[cm.c.GetID()] {
		if q := c.query("content"); q == "" || q == rx.GetContent() {
			out = append(out, clone(rx))
		}
	}
	c.json(http.StatusOK, page(c, out))
}

func (s *Sim) deleteReaction(c *call) {
	cm, ok := c.commentParam()
	if !ok {
		return
	}
	rid, ok := c.intParam("reaction")
	if !ok {
		return
	}
	id := cm.c.GetID()
	before := len(c.repo.reactions[id])
	c.repo.reactions[id] = slices.DeleteFunc(c.repo.reactions[id], func(rx *github.Reaction) bool { return rx.GetID() == rid })
	if len(c.repo.reactions[id]) == before {
		c.notFound()
		return
	}
	c.noContent()
}
