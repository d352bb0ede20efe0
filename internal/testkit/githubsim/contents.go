package githubsim

import (
	"encoding/base64"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Repository contents: files, directories, trees, commits and archives.

// maxInlineContent is the size above which GitHub's contents API stops
// inlining a file ("encoding": "none").
const maxInlineContent = 1 << 20

// resolveRef resolves ?ref= (default: the default branch); on failure it has
// answered like GitHub.
func (c *call) resolveRef(ref string) (string, bool) {
	if ref == "" {
		ref = c.repo.defaultBranch
	}
	sha, ok := gitRepo{c.repo.dir}.resolve(ref)
	if !ok {
		c.fail(http.StatusNotFound, "No commit found for the ref "+ref)
	}
	return sha, ok
}

func (s *Sim) getContents(c *call) {
	p := strings.Trim(c.r.PathValue("path"), "/")
	sha, ok := c.resolveRef(c.query("ref"))
	if !ok {
		return
	}
	g := gitRepo{c.repo.dir}
	e, ok := g.entry(sha, p)
	if !ok {
		c.notFound()
		return
	}
	e.path = p
	if e.typ != "tree" {
		rc, err := s.contentObj(c.repo, sha, e, true)
		if err != nil {
			c.fail(http.StatusInternalServerError, err.Error())
			return
		}
		c.json(http.StatusOK, rc)
		return
	}
	entries, err := g.lsTree(e.sha)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	out := []*github.RepositoryContent{}
	for _, child := range entries {
		child.path = path.Join(p, child.path)
		rc, err := s.contentObj(c.repo, sha, child, false)
		if err != nil {
			c.fail(http.StatusInternalServerError, err.Error())
			return
		}
		out = append(out, rc)
	}
	c.json(http.StatusOK, out)
}

func (s *Sim) contentObj(r *repo, commit string, e treeEntry, withContent bool) (*github.RepositoryContent, error) {
	full := r.fullName()
	typ := map[string]string{"blob": "file", "tree": "dir", "commit": "submodule"}[e.typ]
	if e.mode == "120000" {
		typ = "symlink"
	}
	rc := &github.RepositoryContent{
		Type:    github.String(typ),
		Name:    github.String(path.Base(e.path)),
		Path:    github.String(e.path),
		SHA:     github.String(e.sha),
		Size:    github.Int(e.size),
		URL:     github.String(s.apiURL("repos/%s/contents/%s?ref=%s", full, pathEscape(e.path), commit)),
		HTMLURL: github.String(s.webURL("%s/blob/%s/%s", full, commit, pathEscape(e.path))),
		GitURL:  github.String(s.apiURL("repos/%s/git/blobs/%s", full, e.sha)),
	}
	if typ == "dir" {
		rc.HTMLURL = github.String(s.webURL("%s/tree/%s/%s", full, commit, pathEscape(e.path)))
		rc.GitURL = github.String(s.apiURL("repos/%s/git/trees/%s", full, e.sha))
		rc.Size = github.Int(0)
	}
	if typ == "file" {
		rc.DownloadURL = github.String(s.webURL("_raw/%s/%s/%s", full, commit, pathEscape(e.path)))
	}
	if !withContent || typ != "file" {
		return rc, nil
	}
	if e.size > maxInlineContent {
		rc.Encoding, rc.Content = github.String("none"), github.String("")
		return rc, nil
	}
	b, err := gitRepo{r.dir}.blob(e.sha)
	if err != nil {
		return nil, err
	}
	rc.Encoding, rc.Content = github.String("base64"), github.String(wrap60(base64.StdEncoding.EncodeToString(b)))
	return rc, nil
}

// wrap60 breaks base64 into 60-character lines as GitHub does; decoders
// must cope with the newlines.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

// getRaw serves download_url, which GitHub's clients fetch with the same
// token as the API.
func (s *Sim) getRaw(c *call) {
	g := gitRepo{c.repo.dir}
	e, ok := g.entry(c.r.PathValue("sha"), c.r.PathValue("path"))
	if !ok || e.typ != "blob" {
		c.fail(http.StatusNotFound, "404: Not Found")
		return
	}
	b, err := g.blob(e.sha)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = c.w.Write(b)
}

func (s *Sim) getTree(c *call) {
	g := gitRepo{c.repo.dir}
	rev := c.r.PathValue("sha")
	sha, err := g.out("rev-parse", "--verify", "--quiet", rev+"^{tree}")
	if !safeRev(rev) || err != nil || sha == "" {
		c.notFound()
		return
	}
	args := []string{sha}
	if q := c.query("recursive"); q != "" && q != "0" && q != "false" {
		args = []string{"-r", "-t", sha}
	}
	entries, err := g.lsTree(args...)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	full := c.repo.fullName()
	tree := &github.Tree{SHA: github.String(sha), Entries: []*github.TreeEntry{}, Truncated: github.Bool(false)}
	for _, e := range entries {
		te := &github.TreeEntry{Path: github.String(e.path), Mode: github.String(e.mode), Type: github.String(e.typ), SHA: github.String(e.sha)}
		if e.typ == "blob" {
			te.Size = github.Int(e.size)
			te.URL = github.String(s.apiURL("repos/%s/git/blobs/%s", full, e.sha))
		} else {
			te.URL = github.String(s.apiURL("repos/%s/git/trees/%s", full, e.sha))
		}
		tree.Entries = append(tree.Entries, te)
	}
	c.json(http.StatusOK, tree)
}

// commitsRoute dispatches commits/{ref}[/check-runs|/statuses|/status].
func (s *Sim) commitsRoute(c *call) {
	rest := c.r.PathValue("rest")
	for _, sub := range []struct {
		suffix string
		h      func(*call, string)
	}{
		{"/check-runs", s.listCheckRunsForRef},
		{"/statuses", s.listStatuses},
		{"/status", s.combinedStatus},
		{"/pulls", s.listPullsForCommit},
	} {
		if ref, ok := strings.CutSuffix(rest, sub.suffix); ok {
			sub.h(c, ref)
			return
		}
	}
	if strings.HasSuffix(rest, "/check-suites") || strings.HasSuffix(rest, "/comments") {
		s.unsupported(c.w, c.r)
		return
	}
	sha, ok := c.resolveRef(rest)
	if !ok {
		return
	}
	rc, err := s.repoCommit(c.repo, sha, true)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	c.json(http.StatusOK, rc)
}

// listPullsForCommit answers GET commits/{sha}/pulls with the pull requests
// whose merge commit or head is sha. GitHub also lists pull requests that
// merely contain the commit; slipway asks only about merge commits.
func (s *Sim) listPullsForCommit(c *call, ref string) {
	sha, ok := c.resolveRef(ref)
	if !ok {
		return
	}
	var numbers []int
	for n, p := range c.repo.pulls {
		if p.mergeSHA == sha || s.headSHA(c.repo, p) == sha {
			numbers = append(numbers, n)
		}
	}
	slices.Sort(numbers)
	out := []*github.PullRequest{}
	for _, n := range page(c, numbers) {
		out = append(out, s.prObj(c.repo, c.repo.pulls[n], prList))
	}
	c.json(http.StatusOK, out)
}

// repoCommit renders a commit as GET /commits/{ref} does; withFiles adds the
// diff against the first parent.
func (s *Sim) repoCommit(r *repo, sha string, withFiles bool) (*github.RepositoryCommit, error) {
	g := gitRepo{r.dir}
	ci, err := g.commit(sha)
	if err != nil {
		return nil, err
	}
	full := r.fullName()
	rc := &github.RepositoryCommit{
		SHA:     github.String(ci.sha),
		NodeID:  github.String("C_" + ci.sha),
		URL:     github.String(s.apiURL("repos/%s/commits/%s", full, ci.sha)),
		HTMLURL: github.String(s.webURL("%s/commit/%s", full, ci.sha)),
		Commit: &github.Commit{
			Message:      github.String(ci.message),
			Author:       commitAuthor(ci.author),
			Committer:    commitAuthor(ci.committer),
			Tree:         &github.Tree{SHA: github.String(ci.tree)},
			URL:          github.String(s.apiURL("repos/%s/git/commits/%s", full, ci.sha)),
			CommentCount: github.Int(0),
			Verification: &github.SignatureVerification{Verified: github.Bool(false), Reason: github.String("unsigned")},
		},
		Parents: []*github.Commit{},
	}
	if login := noreplyLogin(ci.author.email); login != "" {
		rc.Author = s.userObj(login)
	}
	if login := noreplyLogin(ci.committer.email); login != "" {
		rc.Committer = s.userObj(login)
	}
	for _, p := range ci.parents {
		rc.Parents = append(rc.Parents, &github.Commit{
			SHA:     github.String(p),
			URL:     github.String(s.apiURL("repos/%s/commits/%s", full, p)),
			HTMLURL: github.String(s.webURL("%s/commit/%s", full, p)),
		})
	}
	if !withFiles {
		return rc, nil
	}
	from := emptyTree
	if len(ci.parents) > 0 {
		from = ci.parents[0]
	}
	files, err := g.diffFiles(from, ci.sha)
	if err != nil {
		return nil, err
	}
	add, del := 0, 0
	for _, f := range files {
		add, del = add+f.GetAdditions(), del+f.GetDeletions()
	}
	rc.Files = nonNil(files)
	rc.Stats = &github.CommitStats{Additions: github.Int(add), Deletions: github.Int(del), Total: github.Int(add + del)}
	return rc, nil
}

func commitAuthor(id identity) *github.CommitAuthor {
	return &github.CommitAuthor{Name: github.String(id.name), Email: github.String(id.email), Date: ts(id.when)}
}

// noreplyLogin recovers the login from the addresses noreplyIdentity makes.
func noreplyLogin(email string) string {
	local, ok := strings.CutSuffix(email, "@users.noreply.github.com")
	if !ok {
		return ""
	}
	if _, login, ok := strings.Cut(local, "+"); ok {
		return login
	}
	return local
}
