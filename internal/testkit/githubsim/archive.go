package githubsim

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"strings"
	"time"
)

// Archives (tarball/zipball) and read-only git clone over smart HTTP, the
// two ways GitHub hands out a whole tree.

// archiveLink answers like GitHub: 302 to a one-off download URL that needs
// no further authentication (codeload.github.com embeds a token instead).
func (s *Sim) archiveLink(c *call) {
	sha, ok := c.resolveRef(c.r.PathValue("ref"))
	if !ok {
		return
	}
	format, ext := "tar.gz", "tar.gz"
	if strings.Contains(c.r.URL.Path, "/zipball") {
		format, ext = "zip", "zip"
	}
	tok := RandomHex(16)
	s.st.archives[tok] = archiveLink{repo: c.repo.fullName(), sha: sha, format: format}
	name := fmt.Sprintf("%s-%s-%s.%s", c.repo.owner, c.repo.name, sha[:7], ext)
	c.w.Header().Set("Location", s.webURL("_codeload/%s/%s", tok, name))
	c.w.WriteHeader(http.StatusFound)
}

// downloadArchive serves `git archive` with GitHub's top-level directory
// name, <owner>-<repo>-<short sha>/.
func (s *Sim) downloadArchive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	link, ok := s.st.archives[r.PathValue("token")]
	rp := s.st.repo(link.repo)
	s.mu.Unlock()
	if !ok || rp == nil {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	prefix := fmt.Sprintf("%s-%s-%s/", rp.owner, rp.name, link.sha[:7])
	b, err := gitRepo{rp.dir}.archive(link.format, prefix, link.sha)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), nil)
		return
	}
	ctype := "application/x-gzip"
	if link.format == "zip" {
		ctype = "application/zip"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", "attachment; filename="+r.PathValue("name"))
	_, _ = w.Write(b)
}

// gitHTTP serves `git clone URL()/owner/repo.git` through git http-backend,
// authenticated as GitHub Apps do: basic auth with an installation token
// as the password. Pushing is not supported.
func (s *Sim) gitHTTP(w http.ResponseWriter, r *http.Request) {
	name, isGit := strings.CutSuffix(r.PathValue("repo"), ".git")
	if !isGit || r.URL.Query().Get("service") == "git-receive-pack" {
		s.unsupported(w, r)
		return
	}
	full := r.PathValue("owner") + "/" + name
	_, password, _ := r.BasicAuth()
	s.mu.Lock()
	rp := s.st.repo(full)
	tok := s.st.tokens[password]
	s.mu.Unlock()
	if tok == nil || time.Now().After(tok.expires) {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(w, "Invalid username or token.", http.StatusUnauthorized)
		return
	}
	requestRecord(r).InstallationID = tok.installationID
	if rp == nil || rp.installationID != tok.installationID || (tok.repos != nil && !tok.repos[strings.ToLower(full)]) {
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := &cgi.Handler{
		Path:       gitPath,
		Args:       []string{"http-backend"},
		Root:       "/" + r.PathValue("owner") + "/" + r.PathValue("repo"),
		InheritEnv: []string{"PATH"},
		Env: []string{"GIT_PROJECT_ROOT=" + rp.dir, "GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"},
	}
	h.ServeHTTP(w, r)
}
