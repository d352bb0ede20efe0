package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh/transport"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	testworld "github.com/slipwayhq/slipway/internal/testkit/world"
)

// world is a simulated GitHub with the App installed on "acme" and a
// Fetcher using that installation's client; tests create the repositories.
type world struct {
	*testworld.World
	fetch *Fetcher
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := testworld.Empty(t, testworld.Options{})
	if err := w.InstallApp(); err != nil {
		t.Fatal(err)
	}
	return &world{World: w, fetch: NewFetcher(w.Client(t, transport.Options{}, nil), Options{TempDir: t.TempDir()})}
}

func (w *world) repo(t *testing.T, name string, files map[string]string) *githubsim.Repo {
	t.Helper()
	r, err := w.Sim.CreateRepo(w.Installation, name, files)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// commitModes commits to branch of the bare repository at gitDir what the
// simulator's Push cannot: files with a git mode (100755 executable,
// 120000 symlink, whose content is the target).
func commitModes(t *testing.T, gitDir, branch string, files map[string][2]string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "commit refs/heads/%s\ncommitter t <t@localhost> 1700000000 +0000\ndata 5\nmodes\nfrom refs/heads/%s^0\n", branch, branch)
	for path, f := range files {
		fmt.Fprintf(&b, "M %s inline %s\ndata %d\n%s\n", f[0], path, len(f[1]), f[1])
	}
	b.WriteString("done\n")
	cmd := exec.Command("git", "-C", gitDir, "fast-import", "--quiet", "--done")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fast-import: %v: %s", err, out)
	}
}

func (w *world) tree(t *testing.T, repo, sha string) string {
	t.Helper()
	owner, name, _ := strings.Cut(repo, "/")
	dir, cleanup, err := w.fetch.Tree(t.Context(), owner, name, sha)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return dir
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entry is one member of a hand-made tarball.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

// tarball builds a gzipped tar as GitHub would (a pax global header, then
// everything under one directory), except for what the entries make wrong.
func tarball(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "0123456789abcdef0123456789abcdef01234567"}}))
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		must(tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(e.body))
			must(err)
		}
	}
	must(tw.Close())
	must(zw.Close())
	return &buf
}
