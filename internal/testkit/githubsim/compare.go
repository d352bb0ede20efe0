package githubsim

import (
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
)

// GitHub's compare answer lists at most this many files and commits.
const (
	compareMaxFiles   = 300
	compareMaxCommits = 250
)

// compareCommits answers GET compare/{base}...{head} as GitHub does: how
// head stands to base (ahead, behind, identical or diverged, counted from
// their merge base), the commits in head since the merge base and the files
// changed between the merge base and head.
func (s *Sim) compareCommits(c *call) {
	basehead := c.r.PathValue("basehead")
	baseRef, headRef, ok := strings.Cut(basehead, "...")
	if !ok || baseRef == "" || headRef == "" {
		c.notFound()
		return
	}
	base, ok := c.resolveRef(baseRef)
	if !ok {
		return
	}
	head, ok := c.resolveRef(headRef)
	if !ok {
		return
	}
	g := gitRepo{c.repo.dir}
	mb, ok := g.mergeBase(base, head)
	if !ok {
		c.fail(http.StatusNotFound, "No common ancestor between "+baseRef+" and "+headRef+".")
		return
	}
	ahead, err := g.revList(mb, head)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	behind, err := g.revList(mb, base)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	full := c.repo.fullName()
	cmp := &github.CommitsComparison{
		Status:       github.String(status),
		AheadBy:      github.Int(len(ahead)),
		BehindBy:     github.Int(len(behind)),
		TotalCommits: github.Int(len(ahead)),
		URL:          github.String(s.apiURL("repos/%s/compare/%s", full, basehead)),
		HTMLURL:      github.String(s.webURL("%s/compare/%s", full, basehead)),
		PermalinkURL: github.String(s.webURL("%s/compare/%s...%s", full, base, head)),
		DiffURL:      github.String(s.webURL("%s/compare/%s.diff", full, basehead)),
		PatchURL:     github.String(s.webURL("%s/compare/%s.patch", full, basehead)),
		Commits:      []*github.RepositoryCommit{},
		Files:        []*github.CommitFile{},
	}
	for _, sha := range []struct {
		to  **github.RepositoryCommit
		sha string
	}{{&cmp.BaseCommit, base}, {&cmp.MergeBaseCommit, mb}} {
		rc, err := s.repoCommit(c.repo, sha.sha, false)
		if err != nil {
			c.fail(http.StatusInternalServerError, err.Error())
			return
		}
		*sha.to = rc
	}
	for i, sha := range ahead {
		if i == compareMaxCommits {
			break
		}
		rc, err := s.repoCommit(c.repo, sha, false)
		if err != nil {
			c.fail(http.StatusInternalServerError, err.Error())
			return
		}
		cmp.Commits = append(cmp.Commits, rc)
	}
	files, err := g.diffFiles(mb, head)
	if err != nil {
		c.fail(http.StatusInternalServerError, err.Error())
		return
	}
	if len(files) > compareMaxFiles {
		files = files[:compareMaxFiles]
	}
	cmp.Files = append(cmp.Files, files...)
	c.json(http.StatusOK, cmp)
}
