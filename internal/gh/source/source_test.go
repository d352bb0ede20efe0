package source

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/affected"
	"github.com/slipwayhq/slipway/internal/strictyaml"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

const goodConfig = `version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: staging
`

func TestTree(t *testing.T) {
	w := newWorld(t)
	r := w.repo(t, "acme/shop", map[string]string{
		"README.md":                    "hello\n",
		"deploy/staging/app.yaml":      "kind: ConfigMap\n",
		"deploy/staging/nested/x.yaml": "x: 1\n",
	})
	commitModes(t, r.Dir, "main", map[string][2]string{
		"bin/run.sh":     {"100755", "#!/bin/sh\necho run\n"},
		"deploy/current": {"120000", "staging"},
	})
	first := w.Sim.Head("acme/shop", "main")
	second := w.Push(t, "main", "alice", map[string]string{"README.md": "changed\n", "deploy/staging/app.yaml": githubsim.Deleted})

	dir := w.tree(t, "acme/shop", first)
	for rel, want := range map[string]string{
		"README.md":                    "hello\n",
		"deploy/staging/app.yaml":      "kind: ConfigMap\n",
		"deploy/staging/nested/x.yaml": "x: 1\n",
		"bin/run.sh":                   "#!/bin/sh\necho run\n",
	} {
		if got := readFile(t, dir, rel); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/run.sh: mode %v (%v), want 0755", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "README.md")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("README.md: mode %v (%v), want 0644", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "deploy/current")); err != nil || target != "staging" {
		t.Errorf("deploy/current: link to %q (%v), want a symlink to staging", target, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("tree root holds %d entries, want README.md, bin and deploy without the archive's top directory", len(entries))
	}

	// A later push does not change the tree at the earlier commit.
	if got := readFile(t, w.tree(t, "acme/shop", first), "README.md"); got != "hello\n" {
		t.Errorf("README.md at %s after a push = %q, want the old content", first[:7], got)
	}
	newer := w.tree(t, "acme/shop", second)
	if got := readFile(t, newer, "README.md"); got != "changed\n" {
		t.Errorf("README.md at %s = %q, want the new content", second[:7], got)
	}
	if _, err := os.Stat(filepath.Join(newer, "deploy/staging/app.yaml")); !os.IsNotExist(err) {
		t.Errorf("deleted file present at %s: %v", second[:7], err)
	}
}

func TestTreeCleanup(t *testing.T) {
	w := newWorld(t)
	w.repo(t, "acme/shop", map[string]string{"a": "b"})
	dir, cleanup, err := w.fetch.Tree(t.Context(), "acme", "shop", w.Sim.Head("acme/shop", "main"))
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after cleanup: %v", dir, err)
	}
	if _, _, err := w.fetch.Tree(t.Context(), "acme", "shop", strings.Repeat("0", 40)); err == nil {
		t.Error("Tree of a missing commit succeeded")
	}
}

func TestConfig(t *testing.T) {
	w := newWorld(t)
	w.repo(t, "acme/shop", map[string]string{".slipway.yaml": goodConfig})
	w.repo(t, "acme/bare", map[string]string{"README.md": "no config\n"})
	w.repo(t, "acme/broken", map[string]string{".slipway.yaml": "version: 1\nenvironments:\n  - name: staging\n    path: deploy/staging\n    clustr: staging\n"})
	base := w.Sim.Head("acme/shop", "main")
	loosened := strings.Replace(goodConfig, "name: staging", "name: prod", 1)
	head := w.Push(t, "loosen", "alice", map[string]string{".slipway.yaml": loosened})
	content := map[string]string{base: goodConfig, head: loosened}

	tests := []struct {
		name, repo, ref string
		env             string // the one environment expected
		check           func(t *testing.T, err error)
	}{
		{name: "base", repo: "shop", ref: base, env: "staging"},
		{name: "head reads the edited file", repo: "shop", ref: head, env: "prod"},
		{name: "missing", repo: "bare", ref: "main", check: func(t *testing.T, err error) {
			if !errors.Is(err, ErrNoConfig) || err.Error() != ".slipway.yaml not found on the default branch" {
				t.Errorf("err = %v, want ErrNoConfig", err)
			}
		}},
		{name: "invalid", repo: "broken", ref: "main", check: func(t *testing.T, err error) {
			var errs strictyaml.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("err = %T %v, want strictyaml.Errors", err, err)
			}
			if e := errs[0]; e.File != ".slipway.yaml" || e.Line != 5 || !strings.Contains(e.Msg, "cluster") {
				t.Errorf("error %q, want it at .slipway.yaml:5 suggesting cluster", e)
			}
		}},
		{name: "unknown ref is not a missing config", repo: "shop", ref: strings.Repeat("0", 40), check: func(t *testing.T, err error) {
			if err == nil || errors.Is(err, ErrNoConfig) {
				t.Errorf("err = %v, want a read error", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := w.fetch.Config(t.Context(), "acme", tt.repo, tt.ref)
			if tt.check != nil {
				if cfg != nil {
					t.Errorf("config returned with an error")
				}
				tt.check(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Names(); !slices.Equal(got, []string{tt.env}) {
				t.Errorf("environments = %q, want [%s]", got, tt.env)
			}
			// The plan digest covers the blob sha: it must be git's own
			// name for the file read, so another content is another sha.
			if want := gitBlobSHA(content[tt.ref]); cfg.BlobSHA != want {
				t.Errorf("BlobSHA = %q, want git's %q", cfg.BlobSHA, want)
			}
		})
	}
}

// gitBlobSHA is the name git gives a file's content (git hash-object).
func gitBlobSHA(content string) string {
	return fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content))))
}

func TestChangedFiles(t *testing.T) {
	w := newWorld(t)
	// Long enough for git to see the move as a rename.
	doc := strings.Repeat("the same paragraph, line after line\n", 20)
	w.repo(t, "acme/shop", map[string]string{"docs/old-name.md": doc, "README.md": "hi\n"})
	files := map[string]string{"docs/old-name.md": githubsim.Deleted, "docs/new-name.md": doc, ".slipway.yaml": goodConfig}
	for i := range 230 {
		files[fmt.Sprintf("deploy/f%03d.yaml", i)] = fmt.Sprintf("n: %d\n", i)
	}
	w.Push(t, "big", "alice", files)
	n := w.OpenPR(t, "big", "alice", nil)
	w.Sim.ResetLog()

	got, err := w.fetch.ChangedFiles(t.Context(), "acme", "shop", n)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, len(files))
	for f := range files {
		want = append(want, f)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d files, want %d (the 230 new ones, .slipway.yaml, and the rename's both names)\ngot  %q", len(got), len(want), got)
	}
	// GitHub lists a rename once, with previous_filename; 232 entries are
	// three pages of 100. The simulator logs a request just after
	// answering it, so the last one may need a moment to show.
	var pages []githubsim.Request
	for deadline := time.Now().Add(2 * time.Second); len(pages) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pages = pages[:0]
		for _, r := range w.Sim.Requests() {
			if strings.HasSuffix(r.Path, fmt.Sprintf("/pulls/%d/files", n)) {
				pages = append(pages, r)
			}
		}
	}
	if len(pages) != 3 {
		t.Errorf("%d list requests, want 3", len(pages))
	}
	for _, r := range pages {
		if !strings.Contains(r.Query, "per_page=100") {
			t.Errorf("request %s?%s does not ask for 100 per page", r.Path, r.Query)
		}
	}
	if !affected.ConfigChanged(got) {
		t.Error("ConfigChanged = false for a PR editing .slipway.yaml")
	}
	if affected.ConfigChanged([]string{"deploy/.slipway.yaml", "README.md"}) {
		t.Error("ConfigChanged = true for a .slipway.yaml outside the root")
	}
}
