// Package source fetches what a plan works on from GitHub: the repository
// tree at a commit, the default branch's .slipway.yaml, a pull request's
// changed files, and from those the environments the pull request affects.
package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// Defaults for Options left zero.
const (
	DefaultMaxArchiveBytes = 512 << 20
	DefaultMaxFiles        = 50_000
	// DownloadTimeout bounds one tarball download, which can be far larger
	// than an API answer.
	DownloadTimeout = 5 * time.Minute
)

// maxListedFiles is as many files as GitHub lists for one pull request;
// past it the list is silently cut short.
const maxListedFiles = 3000

// ErrNoConfig is returned by Config when the ref has no .slipway.yaml.
var ErrNoConfig = errors.New(repoconfig.FileName + " not found on the default branch")

// ErrTooManyFiles is returned by ChangedFiles when GitHub cannot list all of
// a pull request's files, so the affected environments cannot be known.
var ErrTooManyFiles = errors.New("the pull request changes more files than GitHub lists")

// Options tune a Fetcher. Zero values get the defaults.
type Options struct {
	TempDir         string // where trees are unpacked; default os.TempDir()
	MaxArchiveBytes int64  // total uncompressed size of a tree; default 512 MiB
	MaxFiles        int    // entries in a tree; default 50,000
}

// Fetcher reads repositories through one installation's GitHub client.
type Fetcher struct {
	client   *github.Client
	download *http.Client // tarballs: GitHub's redirect target needs no auth
	tmpDir   string
	maxBytes int64
	maxFiles int
}

// NewFetcher returns a Fetcher using client for API calls.
func NewFetcher(client *github.Client, opts Options) *Fetcher {
	f := &Fetcher{
		client:   client,
		download: &http.Client{Timeout: DownloadTimeout},
		tmpDir:   opts.TempDir,
		maxBytes: opts.MaxArchiveBytes,
		maxFiles: opts.MaxFiles,
	}
	if f.tmpDir == "" {
		f.tmpDir = os.TempDir()
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxArchiveBytes
	}
	if f.maxFiles <= 0 {
		f.maxFiles = DefaultMaxFiles
	}
	return f
}

// Tree downloads owner/repo at sha and unpacks it into a new temporary
// directory. The caller owns the directory and must call cleanup when done.
// The tree is a pull request author's: see extractTarball for what is
// refused.
func (f *Fetcher) Tree(ctx context.Context, owner, repo, sha string) (dir string, cleanup func(), err error) {
	full := owner + "/" + repo + "@" + sha
	link, _, err := f.client.Repositories.GetArchiveLink(ctx, owner, repo, github.Tarball,
		&github.RepositoryContentGetOptions{Ref: sha}, 3)
	if err != nil {
		return "", nil, fmt.Errorf("tarball link for %s: %w", full, err)
	}
	// The link is a one-off URL with its own token; the installation's
	// Authorization header is not sent to wherever it points.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return "", nil, fmt.Errorf("download %s: %w", full, err)
	}
	res, err := f.download.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("download %s: %w", full, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("download %s: %s", full, res.Status)
	}
	dir, err = os.MkdirTemp(f.tmpDir, "slipway-tree-")
	if err != nil {
		return "", nil, fmt.Errorf("unpack %s: %w", full, err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	if err := extractTarball(res.Body, dir, limits{bytes: f.maxBytes, files: f.maxFiles}); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("unpack %s: %w", full, err)
	}
	return dir, cleanup, nil
}

// Config reads and parses .slipway.yaml at ref, which should be the pull
// request's base: a pull request must not be able to loosen its own rules.
// A missing file is ErrNoConfig; an invalid one is the strictyaml.Errors
// from repoconfig.Parse, unwrapped, so the caller can annotate its lines.
func (f *Fetcher) Config(ctx context.Context, owner, repo, ref string) (*repoconfig.Config, error) {
	fc, _, _, err := f.client.Repositories.GetContents(ctx, owner, repo, repoconfig.FileName,
		&github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		var ge *github.ErrorResponse
		if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound &&
			!strings.HasPrefix(ge.Message, "No commit found") {
			return nil, ErrNoConfig
		}
		return nil, fmt.Errorf("read %s of %s/%s at %s: %w", repoconfig.FileName, owner, repo, ref, err)
	}
	if fc == nil {
		return nil, fmt.Errorf("%s of %s/%s at %s is a directory, not a file", repoconfig.FileName, owner, repo, ref)
	}
	if fc.GetEncoding() == "none" {
		// GitHub leaves out the content of files over 1 MB.
		return nil, fmt.Errorf("%s of %s/%s is %d bytes, too large for a config file", repoconfig.FileName, owner, repo, fc.GetSize())
	}
	data, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("read %s of %s/%s at %s: %w", repoconfig.FileName, owner, repo, ref, err)
	}
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(data))
	if err != nil {
		return nil, err
	}
	cfg.BlobSHA = fc.GetSHA()
	return cfg, nil
}

// ChangedFiles lists the paths a pull request changes, sorted and unique; a
// renamed file counts under both its old and its new name, since either
// may be an environment's input.
func (f *Fetcher) ChangedFiles(ctx context.Context, owner, repo string, number int) ([]string, error) {
	var paths []string
	listed := 0
	opts := &github.ListOptions{PerPage: 100}
	for {
		files, res, err := f.client.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list files of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, cf := range files {
			paths = append(paths, cf.GetFilename())
			if prev := cf.GetPreviousFilename(); prev != "" {
				paths = append(paths, prev)
			}
		}
		listed += len(files)
		if res.NextPage == 0 {
			break
		}
		opts.Page = res.NextPage
	}
	if listed >= maxListedFiles {
		return nil, fmt.Errorf("%s/%s#%d: %w (%d): split it into smaller pull requests so slipway can tell which environments it affects",
			owner, repo, number, ErrTooManyFiles, maxListedFiles)
	}
	slices.Sort(paths)
	return slices.Compact(paths), nil
}
