package githubsim

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// state is the simulated GitHub's data; every access holds Sim.mu.
// Objects GitHub returns verbatim are kept as go-github values so the JSON
// shapes are the real ones; anything derived from git is computed on read.
type state struct {
	seq           map[string]int64 // per-kind ID counters
	users         map[string]*user // by lower-case login
	installations map[int64]*installation
	tokens        map[string]*token
	repos         map[string]*repo           // by lower-case full name
	teams         map[string]map[string]bool // "org/team" -> lower-case logins
	archives      map[string]archiveLink     // download token -> archive
	rate          map[int64]int              // API calls per installation (0: app) in this window
	rateReset     time.Time
	manifestCodes map[string]*manifestCode // App-manifest codes not yet converted
	manifests     []Manifest               // posted to the registration page
}

type user struct {
	id         int64
	login      string
	typ        string // "User", "Organization" or "Bot"
	typeForced bool   // SetUserType was called, so CreateInstallation keeps it
}

type installation struct {
	id      int64
	account string
	created time.Time
	repos   []string // lower-case full names, in the order they were added
}

type token struct {
	installationID int64
	expires        time.Time
	repos          map[string]bool // nil: every repository of the installation
}

type archiveLink struct {
	repo   string
	sha    string
	format string // "tar.gz" or "zip"
}

type repo struct {
	id             int64
	owner, name    string
	installationID int64
	dir            string
	defaultBranch  string
	created        time.Time
	perms          map[string]string // lower-case login -> admin|write|read
	nextNumber     int
	pulls          map[int]*pull
	comments       []*comment
	reactions      map[int64][]*github.Reaction // by comment ID
	reviews        map[int][]*github.PullRequestReview
	checkRuns      []*checkRun
	suites         map[string]int64 // check suite ID per head SHA and App (suiteKey)
	statuses       []*status
	deployments    []*deployment
	required       map[string][]RequiredCheck // branch protection's required checks, by branch
	queues         map[string]*mergeGroup     // the merge group waiting to land, by base branch
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

type pull struct {
	id         int64
	issueID    int64 // a pull request is also an issue, with its own ID
	number     int
	title      string
	body       string
	author     string
	headRef    string
	headOwner  string // owner of the fork the head comes from; "" for the repository itself
	baseRef    string
	draft      bool
	state      string // open or closed
	created    time.Time
	updated    time.Time
	closedAt   *time.Time
	mergedAt   *time.Time
	mergedBy   string
	mergeSHA   string // the merge commit once merged
	frozenSHA  string // head SHA when closed: the branch may move or vanish afterwards
	frozenBase string // base SHA when merged, so the PR's diff survives the merge
}

type comment struct {
	number int
	c      *github.IssueComment
}

type checkRun struct {
	run         *github.CheckRun
	annotations []*github.CheckRunAnnotation
	app         *OtherApp // nil: made by the simulated App
}

type status struct {
	sha string
	s   *github.RepoStatus
}

type deployment struct {
	d                *github.Deployment
	autoMerge        bool
	requiredContexts *[]string
	transient        bool
	production       bool
	statuses         []*github.DeploymentStatus // oldest first
}

func newState() *state {
	return &state{
		seq:           map[string]int64{},
		users:         map[string]*user{},
		installations: map[int64]*installation{},
		tokens:        map[string]*token{},
		repos:         map[string]*repo{},
		teams:         map[string]map[string]bool{},
		archives:      map[string]archiveLink{},
		rate:          map[int64]int{},
		manifestCodes: map[string]*manifestCode{},
	}
}

// next hands out IDs per kind; starting each kind at its own million keeps
// an ID of one kind from being accidentally valid as another in tests.
func (st *state) next(kind string) int64 {
	if _, ok := st.seq[kind]; !ok {
		st.seq[kind] = int64(len(st.seq)+1) * 1_000_000
	}
	st.seq[kind]++
	return st.seq[kind]
}

// user returns the user record for login, creating it on first sight as
// GitHub users simply exist from a test's point of view.
func (st *state) user(login string) *user {
	k := strings.ToLower(login)
	if u, ok := st.users[k]; ok {
		return u
	}
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	u := &user{id: st.next("user"), login: login, typ: typ}
	st.users[k] = u
	return u
}

func (st *state) repo(fullName string) *repo {
	return st.repos[strings.ToLower(fullName)]
}

// clone deep-copies go-github values so callers never share state with the
// simulator.
func clone[T any](v T) T {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		panic("githubsim: clone: " + err.Error()) // only our own go-github values reach here
	}
	if err := json.Unmarshal(b, &out); err != nil {
		panic("githubsim: clone: " + err.Error())
	}
	return out
}

func ts(t time.Time) *github.Timestamp { return &github.Timestamp{Time: t} }

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }
