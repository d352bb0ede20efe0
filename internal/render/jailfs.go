package render

import (
	"errors"
	"os"
	"path/filepath"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// errReadOnly answers any write: rendering never changes the checkout.
var errReadOnly = errors.New("rendering is read-only: the kustomization tried to write a file")

// jailFS is the file system kustomize sees: the disk, through the jail.
// Every path is resolved inside the repository before the disk is touched,
// and every file read is recorded.
type jailFS struct {
	jail *jail
	disk filesys.FileSystem
	// inspect sees every file before kustomize does and may refuse it;
	// kustomize.go uses it to vet kustomization files.
	inspect func(path string, data []byte) error
	// removable admits RemoveAll for kustomize's own clone directories,
	// which it deletes when done.
	removable func(path string) bool
	// generated are files kustomize reads that slipway made, by cleaned
	// absolute path: the kustomization kustomize-controller would generate
	// for a directory without one (fluxgen.go).
	generated map[string][]byte
}

var _ filesys.FileSystem = (*jailFS)(nil)

func newJailFS(j *jail) *jailFS {
	return &jailFS{jail: j, disk: filesys.MakeFsOnDisk()}
}

func (f *jailFS) resolve(path string) (string, error) {
	real, err := f.jail.resolve(path)
	if err != nil {
		return "", f.jail.refuse(err)
	}
	return real, nil
}

func (f *jailFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (f *jailFS) Mkdir(string) error                  { return errReadOnly }
func (f *jailFS) MkdirAll(string) error               { return errReadOnly }
func (f *jailFS) WriteFile(string, []byte) error      { return errReadOnly }

func (f *jailFS) RemoveAll(path string) error {
	if f.removable != nil && f.removable(filepath.Clean(path)) {
		return f.disk.RemoveAll(path)
	}
	return errReadOnly
}

// made is the file slipway generated at path, if any.
func (f *jailFS) made(path string) ([]byte, bool) {
	data, ok := f.generated[filepath.Clean(path)]
	return data, ok
}

func (f *jailFS) Open(path string) (filesys.File, error) {
	if _, ok := f.made(path); ok {
		return nil, errors.New("open " + filepath.Base(path) + ": a generated file can only be read whole")
	}
	real, err := f.resolve(path)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	f.jail.record(path, real)
	return file, nil
}

func (f *jailFS) ReadFile(path string) ([]byte, error) {
	data, ok := f.made(path)
	if !ok {
		var err error
		if data, err = f.jail.readFile(path); err != nil {
			return nil, err
		}
	}
	if f.inspect != nil {
		if err := f.inspect(path, data); err != nil {
			f.jail.fail(err)
			return nil, err
		}
	}
	return data, nil
}

func (f *jailFS) IsDir(path string) bool {
	if _, ok := f.made(path); ok {
		return false
	}
	real, err := f.resolve(path)
	return err == nil && f.disk.IsDir(real)
}

func (f *jailFS) Exists(path string) bool {
	if _, ok := f.made(path); ok {
		return true
	}
	real, err := f.resolve(path)
	return err == nil && f.disk.Exists(real)
}

func (f *jailFS) ReadDir(path string) ([]string, error) {
	real, err := f.resolve(path)
	if err != nil {
		return nil, err
	}
	return f.disk.ReadDir(real)
}

func (f *jailFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	if _, ok := f.made(path); ok {
		dir, _, err := f.CleanedAbs(filepath.Dir(path))
		return dir, filepath.Base(path), err
	}
	real, err := f.resolve(path)
	if err != nil {
		return "", "", err
	}
	return f.disk.CleanedAbs(real)
}

// Glob keeps only the matches inside the repository.
func (f *jailFS) Glob(pattern string) ([]string, error) {
	matches, err := f.disk.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var in []string
	for _, m := range matches {
		if _, err := f.resolve(m); err == nil {
			in = append(in, m)
		}
	}
	return in, nil
}

// Walk walks the resolved directory. filepath.Walk does not follow links
// below it, and whatever kustomize then opens goes through the jail again.
func (f *jailFS) Walk(path string, walkFn filepath.WalkFunc) error {
	real, err := f.resolve(path)
	if err != nil {
		return err
	}
	return f.disk.Walk(real, walkFn)
}
