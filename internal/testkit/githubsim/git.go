package githubsim

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// zeroSHA is what GitHub puts in "before"/"after" for created/deleted refs.
const zeroSHA = "0000000000000000000000000000000000000000"

// identity is a git author or committer.
type identity struct {
	name, email string
	when        time.Time
}

func (id identity) String() string {
	return fmt.Sprintf("%s <%s> %d +0000", id.name, id.email, id.when.Unix())
}

// noreplyIdentity mirrors the address GitHub uses for web-made commits.
func noreplyIdentity(login string, id int64, when time.Time) identity {
	return identity{name: login, email: fmt.Sprintf("%d+%s@users.noreply.github.com", id, login), when: when}
}

// gitRepo runs the git CLI against one bare repository. The machine's git
// configuration is shut out so that hooks, signing or templates configured
// on a developer's box cannot change what the simulator does.
type gitRepo struct{ dir string }

func (g gitRepo) run(stdin []byte, env []string, args ...string) ([]byte, error) {
	full := append([]string{"-C", g.dir, "-c", "user.name=githubsim", "-c", "user.email=githubsim@localhost",
		"-c", "core.quotePath=false", "-c", "init.defaultBranch=main"}, args...)
	cmd := exec.Command("git", full...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	cmd.Env = append(cmd.Env, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &gitError{args: args, err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, e.stderr)
}

func (e *gitError) exitCode() int {
	var ee *exec.ExitError
	if errors.As(e.err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func (g gitRepo) out(args ...string) (string, error) {
	b, err := g.run(nil, nil, args...)
	return strings.TrimSpace(string(b)), err
}

func initBare(dir, branch string) (gitRepo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return gitRepo{}, err
	}
	g := gitRepo{dir: dir}
	_, err := g.run(nil, nil, "init", "--quiet", "--bare", "--initial-branch="+branch)
	return g, err
}

// resolve turns a branch, tag, SHA or other revision into a commit SHA;
// ok is false when it names nothing.
func (g gitRepo) resolve(rev string) (sha string, ok bool) {
	if !safeRev(rev) {
		return "", false
	}
	for _, cand := range []string{"refs/heads/" + rev, "refs/tags/" + rev, rev} {
		if out, err := g.out("rev-parse", "--verify", "--quiet", cand+"^{commit}"); err == nil && out != "" {
			return out, true
		}
	}
	return "", false
}

func (g gitRepo) branchSHA(branch string) (string, bool) {
	// Tests poll state that asks for many heads at once; reading the loose
	// ref is far cheaper than a git process per pull request.
	if data, err := os.ReadFile(filepath.Join(g.dir, "refs", "heads", filepath.FromSlash(branch))); err == nil {
		if sha := strings.TrimSpace(string(data)); len(sha) == 40 {
			return sha, true
		}
	}
	out, err := g.out("rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	return out, err == nil && out != ""
}

// commitFiles writes one commit on branch with fast-import, which builds the
// tree from the parent plus the changes in a single process, however many
// files a test pushes. A nil content pointer deletes the path.
func (g gitRepo) commitFiles(branch, parent string, files map[string]*string, msg string, author identity) (string, error) {
	return g.commitFilesOn(branch, parent, files, msg, author, false)
}

// commitFilesOn is commitFiles that, with force, also moves branch to a
// commit that does not descend from its tip: a force-push.
func (g gitRepo) commitFilesOn(branch, parent string, files map[string]*string, msg string, author identity, force bool) (string, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "commit refs/heads/%s\n", branch)
	fmt.Fprintf(&b, "author %s\ncommitter %s\n", author, author)
	fmt.Fprintf(&b, "data %d\n%s\n", len(msg), msg)
	if parent != "" {
		fmt.Fprintf(&b, "from %s\n", parent)
	}
	for _, path := range slices.Sorted(maps.Keys(files)) {
		content := files[path]
		if content == nil {
			fmt.Fprintf(&b, "D %s\n", fastImportPath(path))
			continue
		}
		fmt.Fprintf(&b, "M 100644 inline %s\ndata %d\n%s\n", fastImportPath(path), len(*content), *content)
	}
	b.WriteString("done\n")
	args := []string{"fast-import", "--quiet", "--done"}
	if force {
		args = append(args, "--force")
	}
	if _, err := g.run(b.Bytes(), nil, args...); err != nil {
		return "", err
	}
	sha, ok := g.branchSHA(branch)
	if !ok {
		return "", fmt.Errorf("git fast-import did not create %s", branch)
	}
	return sha, nil
}

// safeRev rejects revisions git would parse as options; they come from URLs.
func safeRev(rev string) bool { return rev != "" && !strings.HasPrefix(rev, "-") }

func fastImportPath(p string) string {
	if strings.ContainsAny(p, "\"\n") || strings.HasPrefix(p, " ") {
		return strconv.Quote(p)
	}
	return p
}

// mergeTree computes the tree of merging theirs into ours without a
// worktree; clean is false when the merge has conflicts.
func (g gitRepo) mergeTree(ours, theirs string) (tree string, clean bool, err error) {
	out, err := g.run(nil, nil, "merge-tree", "--write-tree", "--no-messages", "--name-only", ours, theirs)
	first, _, _ := strings.Cut(string(out), "\n")
	var ge *gitError
	if errors.As(err, &ge) && ge.exitCode() == 1 {
		return strings.TrimSpace(first), false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(first), true, nil
}

func (g gitRepo) commitTree(tree string, parents []string, msg string, author, committer identity) (string, error) {
	args := []string{"commit-tree", tree}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	args = append(args, "-F", "-")
	env := []string{
		"GIT_AUTHOR_NAME=" + author.name, "GIT_AUTHOR_EMAIL=" + author.email,
		"GIT_AUTHOR_DATE=" + strconv.FormatInt(author.when.Unix(), 10) + " +0000",
		"GIT_COMMITTER_NAME=" + committer.name, "GIT_COMMITTER_EMAIL=" + committer.email,
		"GIT_COMMITTER_DATE=" + strconv.FormatInt(committer.when.Unix(), 10) + " +0000",
	}
	out, err := g.run([]byte(msg), env, args...)
	return strings.TrimSpace(string(out)), err
}

// updateRef moves ref from old to sha atomically; old "" creates it.
func (g gitRepo) updateRef(ref, sha, old string) error {
	if old == "" {
		old = zeroSHA
	}
	_, err := g.run(nil, nil, "update-ref", ref, sha, old)
	return err
}

func (g gitRepo) deleteRef(ref string) error {
	_, err := g.run(nil, nil, "update-ref", "-d", ref)
	return err
}

func (g gitRepo) mergeBase(a, b string) (string, bool) {
	out, err := g.out("merge-base", a, b)
	return out, err == nil && out != ""
}

// isAncestor reports whether a is reachable from b.
func (g gitRepo) isAncestor(a, b string) bool {
	_, err := g.run(nil, nil, "merge-base", "--is-ancestor", a, b)
	return err == nil
}

// revList lists the commits in (from, to], oldest first; from "" means all
// commits reachable from to but from none of the excluded refs.
func (g gitRepo) revList(from, to string, exclude ...string) ([]string, error) {
	args := []string{"rev-list", "--reverse", to}
	if from != "" && from != zeroSHA {
		args = append(args, "^"+from)
	}
	for _, x := range exclude {
		args = append(args, "^"+x)
	}
	args = append(args, "--")
	out, err := g.out(args...)
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

func (g gitRepo) archive(format, prefix, sha string) ([]byte, error) {
	return g.run(nil, nil, "archive", "--format="+format, "--prefix="+prefix, sha)
}
