package githubsim

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// Scripted actions: what people and GitHub itself do, each followed by the
// webhooks GitHub would send. Deliveries are synchronous, so the receiver
// has handled them when the action returns; if the receiver does not accept
// one, the action still happened and a *DeliveryError is returned.

// Deleted as a file's content in Push or CreateRepo deletes the file.
const Deleted = "\x00githubsim:deleted\x00"

// Repo describes a simulated repository.
type Repo struct {
	ID             int64
	Owner, Name    string
	FullName       string
	DefaultBranch  string
	InstallationID int64
	Dir            string // the bare git repository on disk
}

// act runs fn under the lock and then delivers the webhooks it produced.
func (s *Sim) act(fn func() ([]outgoing, error)) error {
	s.mu.Lock()
	events, err := fn()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range events {
		if err := s.send(e.event, e.payload); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Sim) repoLocked(fullName string) (*repo, error) {
	r := s.st.repo(fullName)
	if r == nil {
		return nil, fmt.Errorf("githubsim: no repository %q", fullName)
	}
	return r, nil
}

func (s *Sim) pullLocked(fullName string, number int) (*repo, *pull, error) {
	r, err := s.repoLocked(fullName)
	if err != nil {
		return nil, nil, err
	}
	p := r.pulls[number]
	if p == nil {
		return nil, nil, fmt.Errorf("githubsim: no pull request %s#%d", fullName, number)
	}
	return r, p, nil
}

// CreateInstallation installs the app on account (an organisation unless
// SetUserType said otherwise) and sends the "installation" created event.
func (s *Sim) CreateInstallation(account string) (int64, error) {
	var id int64
	err := s.act(func() ([]outgoing, error) {
		u := s.st.user(account)
		if !u.typeForced {
			u.typ = "Organization"
		}
		id = s.st.next("installation")
		inst := &installation{id: id, account: u.login, created: now()}
		s.st.installations[id] = inst
		return []outgoing{{"installation", &github.InstallationEvent{
			Action:       github.String("created"),
			Repositories: []*github.Repository{},
			Sender:       s.userObj(s.installer(u)),
			Installation: s.installationObj(inst),
		}}}, nil
	})
	return id, err
}

// installer is who clicks "Install": the user, or an admin of the org.
func (s *Sim) installer(account *user) string {
	if account.typ == "User" {
		return account.login
	}
	return account.login + "-admin"
}

// CreateRepo creates owner/name in the installation's account with one
// commit of files on "main", and sends installation_repositories "added".
func (s *Sim) CreateRepo(installationID int64, fullName string, files map[string]string) (*Repo, error) {
	var out *Repo
	err := s.act(func() ([]outgoing, error) {
		owner, name, ok := strings.Cut(fullName, "/")
		if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/\\ ") {
			return nil, fmt.Errorf("githubsim: bad repository name %q", fullName)
		}
		inst := s.st.installations[installationID]
		if inst == nil {
			return nil, fmt.Errorf("githubsim: no installation %d", installationID)
		}
		if !strings.EqualFold(owner, inst.account) {
			return nil, fmt.Errorf("githubsim: %s is not in installation %d's account %s", fullName, installationID, inst.account)
		}
		if s.st.repo(fullName) != nil {
			return nil, fmt.Errorf("githubsim: repository %s exists", fullName)
		}
		g, err := initBare(filepath.Join(s.opts.Dir, owner, name+".git"), "main")
		if err != nil {
			return nil, err
		}
		u := s.st.user(s.installer(s.st.user(owner)))
		if _, err := g.commitFiles("main", "", contents(files), "Initial commit", noreplyIdentity(u.login, u.id, now())); err != nil {
			return nil, err
		}
		r := &repo{
			id: s.st.next("repo"), owner: inst.account, name: name, installationID: installationID, dir: g.dir,
			defaultBranch: "main", created: now(), perms: map[string]string{}, pulls: map[int]*pull{},
			reactions: map[int64][]*github.Reaction{}, reviews: map[int][]*github.PullRequestReview{},
			suites: map[string]int64{}, required: map[string][]RequiredCheck{}, queues: map[string]*mergeGroup{},
		}
		key := strings.ToLower(r.fullName())
		s.st.repos[key] = r
		inst.repos = append(inst.repos, key)
		out = &Repo{ID: r.id, Owner: r.owner, Name: r.name, FullName: r.fullName(), DefaultBranch: "main", InstallationID: installationID, Dir: g.dir}
		ru := s.repoObj(r)
		return []outgoing{{"installation_repositories", &github.InstallationRepositoriesEvent{
			Action: github.String("added"),
			RepositoriesAdded: []*github.Repository{{ID: ru.ID, NodeID: ru.NodeID, Name: ru.Name,
				FullName: ru.FullName, Private: ru.Private}},
			RepositoriesRemoved: []*github.Repository{},
			RepositorySelection: github.String("selected"),
			Sender:              s.userObj(u.login),
			Installation:        s.installationObj(inst),
		}}}, nil
	})
	return out, err
}

// contents turns the test-facing map into commitFiles' form.
func contents(files map[string]string) map[string]*string {
	out := make(map[string]*string, len(files))
	for path, body := range files {
		if body == Deleted {
			out[path] = nil
			continue
		}
		out[path] = &body
	}
	return out
}

// Push commits files (Deleted removes one) on branch as user, creating the
// branch from the default branch if needed. It sends "push" and, for every
// open pull request from branch, pull_request "synchronize".
func (s *Sim) Push(fullName, branch string, files map[string]string, message, user string) (string, error) {
	var sha string
	err := s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		g := gitRepo{r.dir}
		user = orDefault(user, r.owner)
		before, exists := g.branchSHA(branch)
		parent := before
		if !exists {
			before = zeroSHA
			if parent, exists = g.branchSHA(r.defaultBranch); !exists {
				return nil, fmt.Errorf("githubsim: %s has no default branch", fullName)
			}
		}
		u := s.st.user(user)
		if sha, err = g.commitFiles(branch, parent, contents(files), orDefault(message, "Update files"), noreplyIdentity(u.login, u.id, now())); err != nil {
			return nil, err
		}
		return s.pushed(r, g, branch, before, parent, sha, user), nil
	})
	return sha, err
}

// DeleteBranch deletes branch as user: GitHub sends "push" (deleted) and
// closes open pull requests from it.
func (s *Sim) DeleteBranch(fullName, branch, user string) error {
	return s.act(func() ([]outgoing, error) {
		r, err := s.repoLocked(fullName)
		if err != nil {
			return nil, err
		}
		g := gitRepo{r.dir}
		before, ok := g.branchSHA(branch)
		if !ok || branch == r.defaultBranch {
			return nil, fmt.Errorf("githubsim: cannot delete branch %q of %s", branch, fullName)
		}
		var events []outgoing
		for _, n := range sortedPullNumbers(r) {
			if p := r.pulls[n]; p.state == "open" && p.headRef == branch {
				s.closePull(r, p, before)
				events = append(events, outgoing{"pull_request", s.pullRequestEvent("closed", r, p, user)})
			}
		}
		if err := g.deleteRef("refs/heads/" + branch); err != nil {
			return nil, err
		}
		return append([]outgoing{{"push", s.pushEvent(r, branch, before, zeroSHA, user)}}, events...), nil
	})
}

func (s *Sim) closePull(r *repo, p *pull, head string) {
	t := now()
	p.state, p.closedAt, p.updated, p.frozenSHA = "closed", &t, t, head
}

// Head is the SHA branch points at, or "" if it does not exist.
func (s *Sim) Head(fullName, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.repo(fullName)
	if r == nil {
		return ""
	}
	sha, _ := gitRepo{r.dir}.branchSHA(branch)
	return sha
}

// Token mints an installation access token, for tests that call the API or
// clone without going through the app's JWT exchange.
func (s *Sim) Token(installationID int64) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.st.installations[installationID]
	if inst == nil {
		return "", time.Time{}, fmt.Errorf("githubsim: no installation %d", installationID)
	}
	tok, exp := s.issueToken(inst, nil)
	return tok, exp, nil
}
