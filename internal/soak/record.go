package soak

import "time"

// record is everything the checks read, gathered once the system has
// settled: GitHub's state and request log, the cluster, slipway's logs and
// the soak's own journal. The checks are pure functions of it.
type record struct {
	head       string          // main's head at the end
	mainLine   map[string]bool // every commit main's head has been (first parents)
	mode       map[string]string
	path       map[string]string // environment → directory
	dependsOn  map[string][]string
	deps       []deployment // slipway's, oldest first
	runs       []checkRun   // slipway's, oldest first
	pulls      map[int]pullInfo
	reviews    map[int][]review
	mergedBy   map[string]int // merge commit → pull request
	locks      []lockLease
	objects    []liveObject // everything slipway manages fields of
	allowed    map[string]bool
	foreign    map[string]string // namespace/name → resourceVersion at the start
	foreignNow map[string]string // ... at the end; missing: absent
	otherOK    bool              // acme/other has a successful Deployment
	otherLive  bool              // ... and its object is in the cluster
	texts      []text            // requests to GitHub and slipway's log lines
	panics     []string
	slowHooks  []string // deliveries answered after webhookDeadline
	crashes    []string
	j          *journalView
	// tree is the git tree of path at ref ("" if none); ancestor says
	// whether a is an ancestor of b (or equal).
	tree     func(ref, path string) string
	ancestor func(a, b string) bool
	parent   func(sha string) string // first parent
}

type deployment struct {
	id                     int64
	env, ref, creatorLogin string
	pr                     int
	digest, rollbackOf     string
	tool                   string
	created                time.Time
	states                 []status
}

type status struct {
	state, description string
	at                 time.Time
}

func (d deployment) last() status {
	if len(d.states) == 0 {
		return status{}
	}
	return d.states[len(d.states)-1]
}

func (d deployment) applied() bool {
	for _, s := range d.states {
		if s.state == "in_progress" || s.state == "success" {
			return true
		}
	}
	return false
}

type checkRun struct {
	id                 int64
	name, headSHA      string
	status, conclusion string
	externalID         string
	completed          time.Time
}

type pullInfo struct {
	author, base string
	fork, open   bool
	merged       bool
}

type review struct {
	id        int64
	user      string
	state     string
	commitID  string
	submitted time.Time
}

type lockLease struct {
	name, env, holderRepo string
	pr                    int
}

type liveObject struct{ namespace, kind, name string }

type text struct{ where, body string }

// journalView is the journal, read once the soak is over.
type journalView struct {
	kills     []time.Time
	outages   []span
	pushers   map[string]string
	approvals map[int64]approval
	dismissed map[int64]time.Time
	commands  []command
	secrets   []string
}
