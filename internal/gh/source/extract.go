package source

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ErrUnsafeArchive is an archive entry slipway will not unpack: one that
// would land outside the tree, or that is not a file, directory or symlink.
var ErrUnsafeArchive = errors.New("unsafe archive")

// ErrArchiveTooLarge is an archive over the size or file-count limit.
var ErrArchiveTooLarge = errors.New("archive too large")

// limits bound what one archive may unpack to.
type limits struct {
	bytes int64 // total uncompressed file content
	files int   // entries of any kind
}

// extractTarball unpacks a GitHub tarball (gzipped tar, everything under
// one top-level directory named owner-repo-sha) read from r into dir, an
// existing empty directory, without that top-level directory.
//
// The archive holds a pull request author's tree, so it is treated as
// hostile: absolute paths and paths leading out of dir are refused, and so
// is any entry beneath a symlink the archive created earlier, so nothing is
// ever written through a link. Symlinks themselves are recreated as they
// are, unresolved: whether a render may follow one is the renderer's jail's
// call. Hard links, devices and FIFOs are refused. File modes are reduced
// to 0644 or 0755. Limits are checked against each entry's header before
// its content is read, so a compression bomb stops at once. On error dir
// holds a partial tree the caller removes.
func extractTarball(r io.Reader, dir string, lim limits) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	defer zr.Close()
	// Every write goes through an os.Root as well: even if a check below
	// were wrong, the kernel would not let a write leave dir.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	x := &extractor{root: root, lim: lim, seen: map[string]byte{}}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if err := x.entry(h, tr); err != nil {
			return err
		}
	}
}

type extractor struct {
	root   *os.Root
	lim    limits
	prefix string          // the top-level directory, from the first entry
	seen   map[string]byte // path below prefix → tar type flag
	bytes  int64
	files  int
}

func (x *extractor) entry(h *tar.Header, body io.Reader) error {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil // GitHub's pax_global_header, holding the commit id
	}
	rel, err := x.path(h.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		if h.Typeflag != tar.TypeDir {
			return unsafe(h.Name, "is not a directory; expected a single top-level directory")
		}
		return nil
	}
	x.files++
	if x.files > x.lim.files {
		return fmt.Errorf("%w: more than %d files and directories", ErrArchiveTooLarge, x.lim.files)
	}
	if _, dup := x.seen[rel]; dup {
		return unsafe(h.Name, "appears twice")
	}
	for p := path.Dir(rel); p != "."; p = path.Dir(p) {
		if x.seen[p] == tar.TypeSymlink {
			return unsafe(h.Name, "lies beneath the symlink "+p)
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := x.root.MkdirAll(rel, 0o755); err != nil {
			return err
		}
	case tar.TypeReg:
		if err := x.file(h, rel, body); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := x.mkParent(rel); err != nil {
			return err
		}
		if err := x.root.Symlink(h.Linkname, rel); err != nil {
			return err
		}
	case tar.TypeLink:
		return unsafe(h.Name, "is a hard link")
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return unsafe(h.Name, "is a device or FIFO")
	default:
		return unsafe(h.Name, fmt.Sprintf("has unsupported type %q", h.Typeflag))
	}
	x.seen[rel] = h.Typeflag
	return nil
}

// path is name relative to the top-level directory; "" is that directory.
func (x *extractor) path(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", unsafe(name, "is an absolute path")
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", unsafe(name, "leads outside the tree")
	}
	if clean == "." {
		return "", unsafe(name, "names no file")
	}
	top, rel, _ := strings.Cut(clean, "/")
	if x.prefix == "" {
		x.prefix = top
	}
	if top != x.prefix {
		return "", unsafe(name, fmt.Sprintf("is outside the top-level directory %q", x.prefix))
	}
	return rel, nil
}

func (x *extractor) file(h *tar.Header, rel string, body io.Reader) error {
	if h.Size < 0 || h.Size > x.lim.bytes-x.bytes {
		return fmt.Errorf("%w: more than %d bytes uncompressed", ErrArchiveTooLarge, x.lim.bytes)
	}
	x.bytes += h.Size
	if err := x.mkParent(rel); err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if h.Mode&0o111 != 0 {
		perm = 0o755
	}
	// O_EXCL: never open something already there, a symlink least of all.
	f, err := x.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	// The tar reader yields exactly h.Size bytes, already counted.
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return fmt.Errorf("read archive: %s: %w", rel, err)
	}
	return f.Close()
}

// mkParent creates rel's parent directories when the archive did not list
// them first; entry has checked that none of them is a symlink.
func (x *extractor) mkParent(rel string) error {
	if p := path.Dir(rel); p != "." {
		return x.root.MkdirAll(p, 0o755)
	}
	return nil
}

func unsafe(name, reason string) error {
	return fmt.Errorf("%w: entry %q %s", ErrUnsafeArchive, name, reason)
}
