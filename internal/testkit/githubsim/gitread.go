package githubsim

import (
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// emptyTree is git's well-known empty tree, the "parent" of a root commit.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

type commitInfo struct {
	sha, tree string
	parents   []string
	author    identity
	committer identity
	message   string
}

func (g gitRepo) commit(sha string) (commitInfo, error) {
	out, err := g.out("show", "-s", "--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B", sha)
	if err != nil {
		return commitInfo{}, err
	}
	f := strings.SplitN(out, "\x00", 10)
	for len(f) < 10 {
		f = append(f, "")
	}
	unix := func(s string) time.Time {
		n, _ := strconv.ParseInt(s, 10, 64)
		return time.Unix(n, 0).UTC()
	}
	return commitInfo{
		sha: f[0], tree: f[1], parents: strings.Fields(f[2]),
		author:    identity{name: f[3], email: f[4], when: unix(f[5])},
		committer: identity{name: f[6], email: f[7], when: unix(f[8])},
		message:   strings.TrimRight(f[9], "\n"),
	}, nil
}

// treeEntry is one line of git ls-tree -l.
type treeEntry struct {
	mode, typ, sha string
	size           int
	path           string
}

func (g gitRepo) lsTree(args ...string) ([]treeEntry, error) {
	out, err := g.run(nil, nil, append([]string{"ls-tree", "-l", "-z"}, args...)...)
	if err != nil {
		return nil, err
	}
	var entries []treeEntry
	for _, rec := range strings.Split(string(out), "\x00") {
		meta, path, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 4 {
			continue
		}
		size, _ := strconv.Atoi(f[3])
		entries = append(entries, treeEntry{mode: f[0], typ: f[1], sha: f[2], size: size, path: path})
	}
	return entries, nil
}

// entry finds path in commit; ok is false when it does not exist.
func (g gitRepo) entry(commit, path string) (treeEntry, bool) {
	if !safeRev(commit) {
		return treeEntry{}, false
	}
	if path == "" {
		tree, err := g.out("rev-parse", commit+"^{tree}")
		return treeEntry{mode: "040000", typ: "tree", sha: tree}, err == nil
	}
	es, err := g.lsTree(commit, "--", path)
	if err != nil || len(es) != 1 || es[0].path != path {
		return treeEntry{}, false
	}
	return es[0], true
}

func (g gitRepo) blob(sha string) ([]byte, error) {
	return g.run(nil, nil, "cat-file", "blob", sha)
}

// diffFiles describes from..to the way GitHub's "files" arrays do, with
// rename detection and per-file patches starting at the first hunk.
func (g gitRepo) diffFiles(from, to string) ([]*github.CommitFile, error) {
	raw, err := g.run(nil, nil, "diff", "--no-color", "-M", "--raw", "--no-abbrev", "-z", from, to, "--")
	if err != nil {
		return nil, err
	}
	num, err := g.run(nil, nil, "diff", "--no-color", "-M", "--numstat", "-z", from, to, "--")
	if err != nil {
		return nil, err
	}
	patch, err := g.run(nil, nil, "diff", "--no-color", "--no-ext-diff", "-M", from, to, "--")
	if err != nil {
		return nil, err
	}
	files := parseRaw(string(raw))
	counts := parseNumstat(string(num))
	patches := splitPatches(string(patch))
	for i, f := range files {
		if i < len(counts) {
			f.Additions, f.Deletions = github.Int(counts[i][0]), github.Int(counts[i][1])
			f.Changes = github.Int(counts[i][0] + counts[i][1])
		}
		if i < len(patches) && patches[i] != "" {
			f.Patch = github.String(patches[i])
		}
	}
	return files, nil
}

var diffStatus = map[byte]string{'A': "added", 'M': "modified", 'D': "removed", 'R': "renamed", 'C': "copied", 'T': "changed"}

// parseRaw reads `git diff --raw -z`: ":m1 m2 sha1 sha2 S\0path\0[path2\0]".
func parseRaw(out string) []*github.CommitFile {
	toks := strings.Split(out, "\x00")
	var files []*github.CommitFile
	for i := 0; i < len(toks); i++ {
		f := strings.Fields(strings.TrimPrefix(toks[i], ":"))
		if len(f) != 5 || i+1 >= len(toks) {
			continue
		}
		code := f[4][0]
		cf := &github.CommitFile{Status: github.String(diffStatus[code]), SHA: github.String(f[3])}
		if code == 'D' {
			cf.SHA = github.String(f[2])
		}
		i++
		cf.Filename = github.String(toks[i])
		if code == 'R' || code == 'C' {
			cf.PreviousFilename = cf.Filename
			i++
			cf.Filename = github.String(toks[i])
		}
		files = append(files, cf)
	}
	return files
}

// parseNumstat reads `git diff --numstat -z`; binary files count as 0/0.
func parseNumstat(out string) [][2]int {
	toks := strings.Split(out, "\x00")
	var counts [][2]int
	for i := 0; i < len(toks); i++ {
		f := strings.SplitN(toks[i], "\t", 3)
		if len(f) != 3 {
			continue
		}
		add, _ := strconv.Atoi(f[0])
		del, _ := strconv.Atoi(f[1])
		if f[2] == "" { // rename: old and new path follow as separate tokens
			i += 2
		}
		counts = append(counts, [2]int{add, del})
	}
	return counts
}

// splitPatches cuts a unified diff into per-file hunks; files without hunks
// (binary, pure renames) get "".
func splitPatches(out string) []string {
	var patches []string
	for _, chunk := range strings.Split("\n"+out, "\ndiff --git ")[1:] {
		if i := strings.Index(chunk, "\n@@"); i >= 0 {
			patches = append(patches, strings.TrimSuffix(chunk[i+1:], "\n"))
		} else {
			patches = append(patches, "")
		}
	}
	return patches
}

// changedPaths lists what a commit added, removed and modified relative to
// its first parent, for push payloads.
func (g gitRepo) changedPaths(c commitInfo) (added, removed, modified []string) {
	from := emptyTree
	if len(c.parents) > 0 {
		from = c.parents[0]
	}
	files, err := g.run(nil, nil, "diff", "--no-color", "--raw", "--no-abbrev", "-z", from, c.sha, "--")
	if err != nil {
		return nil, nil, nil
	}
	added, removed, modified = []string{}, []string{}, []string{}
	for _, f := range parseRaw(string(files)) {
		switch f.GetStatus() {
		case "added":
			added = append(added, f.GetFilename())
		case "removed":
			removed = append(removed, f.GetFilename())
		default:
			modified = append(modified, f.GetFilename())
		}
	}
	return added, removed, modified
}
