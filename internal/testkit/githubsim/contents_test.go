package githubsim

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestContents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.push(t, "feature", map[string]string{"apps/web/deployment.yaml": "replicas: 5\n", "apps/api/x.yaml": "x"})

	tests := []struct {
		ref, path, want string
	}{
		{"", "apps/web/deployment.yaml", "replicas: 1\n"},
		{"main", "README.md", "# deploy\n"},
		{"feature", "apps/web/deployment.yaml", "replicas: 5\n"},
		{f.sim.Head(testRepo, "feature"), "apps/api/x.yaml", "x"},
	}
	for _, tt := range tests {
		file, dir, _, err := f.client.Repositories.GetContents(f.ctx, "acme", "deploy", tt.path, &github.RepositoryContentGetOptions{Ref: tt.ref})
		must(t, err)
		got, err := file.GetContent()
		must(t, err)
		if dir != nil || got != tt.want || file.GetType() != "file" || file.GetName() != filepath.Base(tt.path) || file.GetSize() != len(tt.want) {
			t.Errorf("%s@%s = %q (%+v)", tt.path, tt.ref, got, file)
		}
	}
	_, dir, _, err := f.client.Repositories.GetContents(f.ctx, "acme", "deploy", "apps", &github.RepositoryContentGetOptions{Ref: "feature"})
	must(t, err)
	if len(dir) != 2 || dir[0].GetPath() != "apps/api" || dir[0].GetType() != "dir" {
		t.Errorf("dir listing %v", dir)
	}
	if _, _, _, err := f.client.Repositories.GetContents(f.ctx, "acme", "deploy", "nope.yaml", nil); statusOf(err) != 404 {
		t.Errorf("missing file: %v", err)
	}
	rc, _, err := f.client.Repositories.DownloadContents(f.ctx, "acme", "deploy", "apps/web/deployment.yaml", &github.RepositoryContentGetOptions{Ref: "feature"})
	must(t, err)
	raw, _ := io.ReadAll(rc)
	rc.Close()
	if string(raw) != "replicas: 5\n" {
		t.Errorf("download_url gave %q", raw)
	}

	tree, _, err := f.client.Git.GetTree(f.ctx, "acme", "deploy", "feature", true)
	must(t, err)
	var paths []string
	for _, e := range tree.Entries {
		paths = append(paths, e.GetType()+":"+e.GetPath())
	}
	if strings.Join(paths, ",") != "blob:README.md,tree:apps,tree:apps/api,blob:apps/api/x.yaml,tree:apps/web,blob:apps/web/deployment.yaml" {
		t.Errorf("tree = %v", paths)
	}
	commit, _, err := f.client.Repositories.GetCommit(f.ctx, "acme", "deploy", "feature", nil)
	must(t, err)
	if commit.GetCommit().GetMessage() != "change feature" || commit.GetAuthor().GetLogin() != "alice" || len(commit.Parents) != 1 || len(commit.Files) != 2 {
		t.Errorf("commit %+v", commit)
	}
	ref, _, err := f.client.Git.GetRef(f.ctx, "acme", "deploy", "heads/feature")
	must(t, err)
	if ref.GetObject().GetSHA() != f.sim.Head(testRepo, "feature") {
		t.Errorf("ref %+v", ref)
	}
}

func TestArchiveLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	u, resp, err := f.client.Repositories.GetArchiveLink(f.ctx, "acme", "deploy", github.Tarball, &github.RepositoryContentGetOptions{Ref: "main"}, 0)
	must(t, err)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	dl, err := http.Get(u.String()) // the download URL carries its own authorisation
	must(t, err)
	defer dl.Body.Close()
	gz, err := gzip.NewReader(dl.Body)
	must(t, err)
	tr := tar.NewReader(gz)
	prefix := "acme-deploy-" + f.sim.Head(testRepo, "main")[:7] + "/"
	var found string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if h.Name == prefix+"apps/web/deployment.yaml" {
			b, _ := io.ReadAll(tr)
			found = string(b)
		}
	}
	if found != "replicas: 1\n" {
		t.Errorf("tarball lacks %sapps/web/deployment.yaml (got %q)", prefix, found)
	}
	zip, _, err := f.client.Repositories.GetArchiveLink(f.ctx, "acme", "deploy", github.Zipball, nil, 0)
	must(t, err)
	if !strings.HasSuffix(zip.Path, ".zip") {
		t.Errorf("zipball link %s", zip)
	}
}

func TestGitClone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	tok, _, err := f.sim.Token(f.inst)
	must(t, err)
	dst := filepath.Join(t.TempDir(), "clone")
	url := strings.Replace(f.sim.URL(), "http://", "http://x-access-token:"+tok+"@", 1) + "/acme/deploy.git"
	cmd := exec.Command("git", "clone", "--quiet", url, dst)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dst, "apps/web/deployment.yaml"))
	if err != nil || string(b) != "replicas: 1\n" {
		t.Errorf("cloned file %q, %v", b, err)
	}
	bad := strings.Replace(url, tok, "ghs_wrong", 1)
	cmd = exec.Command("git", "clone", "--quiet", bad, filepath.Join(t.TempDir(), "nope"))
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true")
	if err := cmd.Run(); err == nil {
		t.Error("clone with a bad token succeeded")
	}
}
