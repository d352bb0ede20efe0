package soak

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// journal is what the soak itself did, and when: the checks read it beside
// GitHub's record, the cluster and the logs.
type journal struct {
	mu        sync.Mutex
	events    map[string]int // by kind, as done
	faults    map[string]int // by kind, as injected
	refused   map[string]int // events GitHub refused (a conflicting merge, say)
	kills     []time.Time
	outages   []span // the API server unreachable
	pushers   map[string]string
	approvals map[int64]approval
	dismissed map[int64]time.Time
	commands  []command
	secrets   []string
}

type span struct{ from, to time.Time }

type approval struct {
	pr   int
	user string
	at   time.Time
}

// command is a slash command someone commented.
type command struct {
	pr   int
	user string
	text string
	at   time.Time
}

func newJournal() *journal {
	return &journal{events: map[string]int{}, faults: map[string]int{}, refused: map[string]int{},
		pushers: map[string]string{}, approvals: map[int64]approval{}, dismissed: map[int64]time.Time{}}
}

func (j *journal) event(kind string) { j.mu.Lock(); j.events[kind]++; j.mu.Unlock() }

func (j *journal) refusal(kind string) { j.mu.Lock(); j.refused[kind]++; j.mu.Unlock() }

func (j *journal) fault(kind string) { j.mu.Lock(); j.faults[kind]++; j.mu.Unlock() }

func (j *journal) pushed(sha, user string) {
	j.mu.Lock()
	j.pushers[sha] = user
	j.mu.Unlock()
}

func (j *journal) pusherOf(sha string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.pushers[sha]
}

func (j *journal) approved(id int64, pr int, user string) {
	j.mu.Lock()
	j.approvals[id] = approval{pr: pr, user: user, at: time.Now()}
	j.mu.Unlock()
}

func (j *journal) dismiss(id int64) { j.mu.Lock(); j.dismissed[id] = time.Now(); j.mu.Unlock() }

func (j *journal) commented(pr int, user, text string) {
	j.mu.Lock()
	j.commands = append(j.commands, command{pr: pr, user: user, text: text, at: time.Now()})
	j.mu.Unlock()
}

func (j *journal) killed() { j.mu.Lock(); j.kills = append(j.kills, time.Now()); j.mu.Unlock() }

func (j *journal) outage(d time.Duration) {
	j.mu.Lock()
	now := time.Now()
	j.outages = append(j.outages, span{now, now.Add(d)})
	j.mu.Unlock()
}

func (j *journal) secret(s string) { j.mu.Lock(); j.secrets = append(j.secrets, s); j.mu.Unlock() }

// counts is a sorted copy of m.
func counts(m map[string]int) []kindCount {
	var out []kindCount
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, kindCount{k, m[k]})
	}
	return out
}

type kindCount struct {
	Kind  string
	Count int
}
