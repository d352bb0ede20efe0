// Package world is the one test world slipway's tests and demo build on:
// a GitHub simulator with the App installed on an owner, one repository,
// branches and pull requests on it, the clients and server config slipway
// would use for them, and one way to wait (Eventually, Wait).
//
// It gives the pieces and wires no server: internal/server's tests (which
// import it) start their own, so it must not import internal/server.
package world

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// Defaults of Options.
const (
	DefaultRepo   = "acme/shop"
	DefaultSecret = "s"
)

// Options say what differs from the usual world: acme/shop with a README,
// webhook secret "s", answers that caching clients must revalidate.
type Options struct {
	Repo        string            // owner/name; DefaultRepo when empty
	Files       map[string]string // main's files for New; a README when nil
	Permissions map[string]string // user → read, write or admin, set by Install
	Secret      string            // the webhook secret; DefaultSecret when empty
	Dir         string            // the simulator's git repositories; New and Empty use t.TempDir()
	// GitHubCaching answers GETs with GitHub's own Cache-Control (max-age
	// 60) instead of no-cache, for tests of slipway's revalidation and
	// for runs that should see what production sees.
	GitHubCaching bool
	// TokenTTL is how long installation tokens live (githubsim's default
	// when zero), for tests of token rotation.
	TokenTTL time.Duration
}

// World is a running simulator and what was made in it.
type World struct {
	Sim          *githubsim.Sim
	Repo         string // owner/name
	Owner, Name  string
	Installation int64 // 0 until Install
	perms        map[string]string
}

// Start starts a simulator with nothing installed; Close stops it. Code
// without a *testing.T (the demo) uses it; tests use New or Empty.
func Start(opts Options) (*World, error) {
	if opts.Repo == "" {
		opts.Repo = DefaultRepo
	}
	owner, name, ok := strings.Cut(opts.Repo, "/")
	if !ok {
		return nil, fmt.Errorf("world: repository %q is not owner/name", opts.Repo)
	}
	if opts.Secret == "" {
		opts.Secret = DefaultSecret
	}
	sim := githubsim.Options{WebhookSecret: opts.Secret, Dir: opts.Dir, CacheControl: "no-cache", TokenTTL: opts.TokenTTL}
	if opts.GitHubCaching {
		sim.CacheControl = ""
	}
	s, err := githubsim.New(sim)
	if err != nil {
		return nil, fmt.Errorf("start the GitHub simulator: %w", err)
	}
	return &World{Sim: s, Repo: opts.Repo, Owner: owner, Name: name, perms: opts.Permissions}, nil
}

// Empty is a started simulator with nothing installed yet, stopped when
// the test ends: for tests that point webhooks at a server before the
// installation and repository exist (they then call Install).
func Empty(t testing.TB, opts Options) *World {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	w, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// New is Empty with the App installed and the repository created from
// opts.Files.
func New(t testing.TB, opts Options) *World {
	t.Helper()
	w := Empty(t, opts)
	files := opts.Files
	if files == nil {
		files = map[string]string{"README.md": w.Name + "\n"}
	}
	if err := w.Install(files); err != nil {
		t.Fatal(err)
	}
	return w
}

// InstallApp installs the App on the owner, for tests that create their
// repositories themselves; Install does it when it has not been done.
func (w *World) InstallApp() error {
	inst, err := w.Sim.CreateInstallation(w.Owner)
	if err != nil {
		return fmt.Errorf("install the App on %s: %w", w.Owner, err)
	}
	w.Installation = inst
	return nil
}

// Install installs the App on the owner, creates the repository with files
// on main and grants the Options' permissions; each step sends its webhook
// wherever the simulator's webhook URL points.
func (w *World) Install(files map[string]string) error {
	if w.Installation == 0 {
		if err := w.InstallApp(); err != nil {
			return err
		}
	}
	if _, err := w.Sim.CreateRepo(w.Installation, w.Repo, files); err != nil {
		return fmt.Errorf("create %s: %w", w.Repo, err)
	}
	for user, perm := range w.perms {
		if err := w.Sim.SetPermission(w.Repo, user, perm); err != nil {
			return fmt.Errorf("grant %s %s on %s: %w", user, perm, w.Repo, err)
		}
	}
	return nil
}

// Close stops the simulator.
func (w *World) Close() { w.Sim.Close() }

// Push commits files to branch as user ("change <branch>") and returns the
// new head.
func (w *World) Push(t testing.TB, branch, user string, files map[string]string) string {
	t.Helper()
	sha, err := w.Sim.Push(w.Repo, branch, files, "change "+branch, user)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// OpenPR pushes files to a new branch and opens a pull request from it
// into main as user ("Change <branch>"), and returns its number. With nil
// files the branch is one pushed already, by anyone.
func (w *World) OpenPR(t testing.TB, branch, user string, files map[string]string) int {
	t.Helper()
	if files != nil {
		w.Push(t, branch, user, files)
	}
	n, err := w.Sim.OpenPR(w.Repo, branch, "main", "Change "+branch, user)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Head is pull request n's head commit.
func (w *World) Head(n int) string { return w.Sim.PR(w.Repo, n).GetHead().GetSHA() }

// GHRepo is the repository as the port names it.
func (w *World) GHRepo() gh.Repo { return gh.Repo{Owner: w.Owner, Name: w.Name} }

// SlipwayComments are the App's comments on issue or pull request n,
// oldest first.
func (w *World) SlipwayComments(n int) []*github.IssueComment {
	var out []*github.IssueComment
	for _, c := range w.Sim.Comments(w.Repo, n) {
		if c.GetUser().GetLogin() == w.Sim.BotLogin() {
			out = append(out, c)
		}
	}
	return out
}

// WriteKey writes the App's private key to path for configs that name a
// key file.
func (w *World) WriteKey(path string) error {
	return os.WriteFile(path, w.Sim.PrivateKeyPEM(), 0o600)
}
