package source

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const top = "acme-shop-0123456/"

var roomy = limits{bytes: DefaultMaxArchiveBytes, files: DefaultMaxFiles}

func TestExtractKeepsTree(t *testing.T) {
	dir := t.TempDir()
	err := extractTarball(tarball(t,
		entry{name: top, typ: tar.TypeDir, mode: 0o775},
		entry{name: top + "a/", typ: tar.TypeDir, mode: 0o700},
		entry{name: top + "a/file.yaml", body: "k: v\n", mode: 0o666},
		entry{name: top + "a/setuid", body: "#!/bin/sh\n", mode: 0o4777},
		entry{name: top + "implicit/parent/file", body: "x"},
		entry{name: top + "a/up", typ: tar.TypeSymlink, link: "../../outside"},
		entry{name: top + "a/abs", typ: tar.TypeSymlink, link: "/etc/passwd"},
	), dir, roomy)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]fs.FileMode{
		"a":                    fs.ModeDir | 0o755,
		"a/file.yaml":          0o644,
		"a/setuid":             0o755,
		"implicit/parent/file": 0o644,
		"a/up":                 fs.ModeSymlink,
		"a/abs":                fs.ModeSymlink,
	} {
		fi, err := os.Lstat(filepath.Join(dir, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		got := fi.Mode()
		if got&fs.ModeSymlink != 0 {
			got = fs.ModeSymlink // link permissions mean nothing
		}
		if got != want {
			t.Errorf("%s: mode %v, want %v", rel, got, want)
		}
	}
	// Links are kept as written, unresolved, for the renderer's jail to judge.
	if target, _ := os.Readlink(filepath.Join(dir, "a/abs")); target != "/etc/passwd" {
		t.Errorf("a/abs -> %q, want /etc/passwd", target)
	}
}

func TestExtractRefuses(t *testing.T) {
	outside := t.TempDir() // where an escaping write would land
	tests := []struct {
		name    string
		entries []entry
		want    error
		msg     string
	}{
		{"parent directory", []entry{{name: "../evil", body: "x"}}, ErrUnsafeArchive, "leads outside"},
		{"parent inside the prefix", []entry{{name: top + "../../evil", body: "x"}}, ErrUnsafeArchive, "leads outside"},
		{"sibling of the prefix", []entry{{name: top, typ: tar.TypeDir}, {name: top + "../evil", body: "x"}}, ErrUnsafeArchive, "outside the top-level directory"},
		{"absolute", []entry{{name: "/abs", body: "x"}}, ErrUnsafeArchive, "absolute"},
		{"file at the top", []entry{{name: "evil", body: "x"}}, ErrUnsafeArchive, "single top-level directory"},
		{"write through a symlink", []entry{
			{name: top + "link", typ: tar.TypeSymlink, link: outside},
			{name: top + "link/passwd", body: "root::0:0::/:/bin/sh\n"},
		}, ErrUnsafeArchive, "beneath the symlink link"},
		{"write through a nested symlink", []entry{
			{name: top + "a/link", typ: tar.TypeSymlink, link: "../../.."},
			{name: top + "a/link/b/c", typ: tar.TypeDir},
		}, ErrUnsafeArchive, "beneath the symlink a/link"},
		{"file over a symlink", []entry{
			{name: top + "link", typ: tar.TypeSymlink, link: filepath.Join(outside, "f")},
			{name: top + "link", body: "x"},
		}, ErrUnsafeArchive, "appears twice"},
		{"hard link", []entry{{name: top + "a", body: "x"}, {name: top + "b", typ: tar.TypeLink, link: top + "a"}}, ErrUnsafeArchive, "hard link"},
		{"character device", []entry{{name: top + "null", typ: tar.TypeChar}}, ErrUnsafeArchive, "device"},
		{"block device", []entry{{name: top + "sda", typ: tar.TypeBlock}}, ErrUnsafeArchive, "device"},
		{"fifo", []entry{{name: top + "pipe", typ: tar.TypeFifo}}, ErrUnsafeArchive, "FIFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "tree")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			err := extractTarball(tarball(t, tt.entries...), dir, roomy)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.want, tt.msg)
			}
			for _, d := range []string{parent, outside} {
				names, _ := os.ReadDir(d)
				for _, n := range names {
					if n.Name() != "tree" {
						t.Errorf("%s written outside the tree", filepath.Join(d, n.Name()))
					}
				}
			}
		})
	}
}

func TestExtractLimits(t *testing.T) {
	many := []entry{{name: top, typ: tar.TypeDir}}
	for i := range 11 {
		many = append(many, entry{name: fmt.Sprintf("%sf%d", top, i), body: "x"})
	}
	tests := []struct {
		name    string
		entries []entry
		lim     limits
	}{
		{"too many files", many, limits{bytes: 1 << 20, files: 10}},
		{"too many bytes", []entry{{name: top + "a", body: "12345"}, {name: top + "b", body: "123456"}}, limits{bytes: 10, files: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := extractTarball(tarball(t, tt.entries...), t.TempDir(), tt.lim); !errors.Is(err, ErrArchiveTooLarge) {
				t.Fatalf("err = %v, want ErrArchiveTooLarge", err)
			}
		})
	}
	if err := extractTarball(strings.NewReader("not gzip"), t.TempDir(), roomy); err == nil {
		t.Error("garbage unpacked without error")
	}
}

// A compression bomb, 2 GiB of zeros a few MiB compressed, is generated as
// it is read and must be refused long before it is all produced.
func TestExtractBomb(t *testing.T) {
	const total = 2 << 30
	tests := []struct {
		name  string
		chunk int64 // size of each file in the archive
		lim   limits
	}{
		{"one huge file", total, roomy},
		{"many files adding up", 1 << 20, limits{bytes: 8 << 20, files: DefaultMaxFiles}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			produced := make(chan int64, 1)
			go func() { produced <- writeZeros(pw, total, tt.chunk) }()
			dir := t.TempDir()
			start := time.Now()
			err := extractTarball(pr, dir, tt.lim)
			pr.CloseWithError(errors.New("reader gone"))
			if !errors.Is(err, ErrArchiveTooLarge) {
				t.Fatalf("err = %v, want ErrArchiveTooLarge", err)
			}
			if n := <-produced; n > 2*tt.lim.bytes {
				t.Errorf("%d bytes generated before the refusal; want it to stop near the %d limit", n, tt.lim.bytes)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("refusal took %v", d)
			}
			var onDisk int64
			_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, _ error) error {
				if fi, err := d.Info(); err == nil && d.Type().IsRegular() {
					onDisk += fi.Size()
				}
				return nil
			})
			if onDisk > tt.lim.bytes {
				t.Errorf("%d bytes written, over the %d limit", onDisk, tt.lim.bytes)
			}
		})
	}
}

// writeZeros writes a tarball of total bytes of zeros in files of chunk
// bytes to w, streaming, and returns how many bytes of file content it
// produced before w refused more.
func writeZeros(w *io.PipeWriter, total, chunk int64) int64 {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	zeros := make([]byte, 1<<20)
	var n int64
	err := func() error {
		if err := tw.WriteHeader(&tar.Header{Name: top, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
		for i := 0; n < total; i++ {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%sz%d", top, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: chunk}); err != nil {
				return err
			}
			if err := zw.Flush(); err != nil {
				return err
			}
			for left := chunk; left > 0; {
				k, err := tw.Write(zeros[:min(left, int64(len(zeros)))])
				n += int64(k)
				left -= int64(k)
				if err != nil {
					return err
				}
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return zw.Close()
	}()
	w.CloseWithError(err)
	return n
}
