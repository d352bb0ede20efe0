package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// maxSymlinks bounds how many symlinks one path may pass through, as the
// kernel does (ELOOP), so a link cycle is an error rather than a hang.
const maxSymlinks = 40

// jail gives read access to the files of one repository checkout and nothing
// else: a PR is untrusted, and a symlink or "../.." in it must not show it
// the server's files. It records every file read, which is what a render
// depends on.
//
// Paths are resolved component by component (os.Lstat and os.Readlink, never
// following a link blindly), so nothing outside the repository is even
// stat'ed; callers then open the resolved path, which has no links left.
type jail struct {
	root string // absolute, symlinks resolved

	// extraRoot, when set, admits paths in directories it accepts as
	// further read-only roots: kustomize's clones of remote bases, when the
	// caller allows those.
	extraRoot func(path string) (root string, ok bool)

	mu        sync.Mutex
	read      map[string]bool // repo-relative, slash-separated
	violation error           // first refused access
}

// escapeError is a refused access: the path leads outside the repository.
// It names the path as it was asked for, never where it led, so an error
// message is no oracle for the server's file system.
type escapeError struct {
	path    string // as asked for, relative to the repository when inside it
	symlink bool   // lexically inside, but a symlink leads out
}

func (e *escapeError) Error() string { return e.path + " " + e.reason() }

// reason is the message without the path, for when the error is already
// located at it.
func (e *escapeError) reason() string {
	if e.symlink {
		return "is or passes through a symlink that leads outside the repository; renders may only read files inside it"
	}
	return "is outside the repository; renders may only read files inside it"
}

// errorAt locates err at file (repo-relative) for the user, without
// repeating the path when the error is about file itself.
func (j *jail) errorAt(file string, err error) *Error {
	var esc *escapeError
	if errors.As(err, &esc) && esc.path == file {
		return &Error{File: file, Msg: esc.reason()}
	}
	return &Error{File: file, Msg: strings.TrimPrefix(j.relativize(err.Error()), file+": ")}
}

func newJail(repoRoot string) (*jail, error) {
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, fmt.Errorf("repository root %s: %w", repoRoot, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("repository root %s: %w", repoRoot, err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("repository root %s is not a directory", repoRoot)
	}
	return &jail{root: root, read: map[string]bool{}}, nil
}

// resolve returns the real path of p, with every symlink followed, or an
// *escapeError if p or any link on the way leads outside the repository. A
// relative p is taken relative to the repository root. Parts of p that do not
// exist are kept as they are, so the caller gets the OS's not-exist error.
func (j *jail) resolve(p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(j.root, p)
	}
	p = filepath.Clean(p)
	root := j.root
	if !within(root, p) {
		extra, ok := j.extra(p)
		if !ok {
			return "", &escapeError{path: j.show(p)}
		}
		root = extra
	}
	real, err := resolveIn(root, p)
	var pe *fs.PathError
	switch {
	case errors.Is(err, errLeaves):
		return "", &escapeError{path: j.show(p), symlink: true}
	case errors.Is(err, errLoop):
		return "", fmt.Errorf("%s: too many levels of symbolic links", j.show(p))
	case errors.As(err, &pe):
		pe.Path = j.show(pe.Path) // no server paths in messages
	}
	return real, err
}

func (j *jail) extra(p string) (string, bool) {
	if j.extraRoot == nil {
		return "", false
	}
	return j.extraRoot(p)
}

var (
	errLeaves = errors.New("leaves the root")
	errLoop   = errors.New("too many levels of symbolic links")
)

// resolveIn walks p (clean, absolute, lexically inside root) from root one
// component at a time. cur is always a real path inside root, so ".." in a
// link target means its physical parent, as the kernel would take it.
func resolveIn(root, p string) (string, error) {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return "", err
	}
	rest := splitPath(rel)
	cur, links := root, 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			if !within(root, cur) {
				return "", errLeaves
			}
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			if slices.Contains(rest, "..") {
				// "missing/../x" would be cleaned into "x" and open
				// something the kernel would never reach.
				return "", &fs.PathError{Op: "open", Path: next, Err: fs.ErrNotExist}
			}
			return filepath.Join(append([]string{next}, rest...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", errLoop
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			target = filepath.Clean(target)
			if !within(root, target) {
				return "", errLeaves
			}
			cur = root
			tr, _ := filepath.Rel(root, target)
			target = tr
		}
		rest = append(splitPath(target), rest...)
	}
	return cur, nil
}

func splitPath(p string) []string {
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, string(filepath.Separator))
}

// within reports whether p is root or below it; both clean and absolute.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// show names p for an error message: relative to the repository root (with
// ".." when outside it), so no message carries the server's paths.
func (j *jail) show(p string) string {
	if rel, err := filepath.Rel(j.root, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

// readFile reads a regular file inside the repository and records it.
func (j *jail) readFile(p string) ([]byte, error) {
	real, err := j.resolve(p)
	if err != nil {
		return nil, j.refuse(err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", j.show(p))
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return nil, err
	}
	j.record(p, real)
	return data, nil
}

// stat resolves p and stats the result; (nil, nil) when it does not exist.
func (j *jail) stat(p string) (string, fs.FileInfo, error) {
	real, err := j.resolve(p)
	if err != nil {
		return "", nil, j.refuse(err)
	}
	fi, err := os.Stat(real)
	if errors.Is(err, fs.ErrNotExist) {
		return real, nil, nil
	}
	return real, fi, err
}

// refuse remembers the first escape, which a renderer reports in place of
// whatever error (or success) the tool made of it: kustomize, for one,
// swallows some read errors and would otherwise report a puzzling
// "missing kustomization".
func (j *jail) refuse(err error) error {
	var esc *escapeError
	if errors.As(err, &esc) {
		j.fail(err)
	}
	return err
}

// fail records err as a policy violation, first one wins.
func (j *jail) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.violation == nil {
		j.violation = err
	}
}

// violated returns the first refused access, if any.
func (j *jail) violated() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.violation
}

// record notes a file read, under the name it was asked for and the one it
// resolved to: a change to either a symlink or its target affects the render.
func (j *jail) record(asked, real string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !filepath.IsAbs(asked) {
		asked = filepath.Join(j.root, asked)
	}
	for _, p := range []string{filepath.Clean(asked), real} {
		if within(j.root, p) {
			j.read[j.show(p)] = true
		}
	}
}

// files lists the files read, sorted.
func (j *jail) files() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]string, 0, len(j.read))
	for f := range j.read {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// relativize rewrites absolute checkout paths in a tool's message to
// repository-relative ones: shorter, and no server paths in a PR comment.
func (j *jail) relativize(msg string) string {
	return strings.ReplaceAll(msg, j.root+string(filepath.Separator), "")
}
