package soak

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Invariant is one named promise and what broke it.
type Invariant struct {
	N          int
	Name       string
	Violations []string
}

// webhookDeadline is how long GitHub waits for a webhook answer before it
// counts the delivery failed: slipway must answer well within it.
const webhookDeadline = 10 * time.Second

// clockSlack absorbs GitHub's timestamps being whole seconds.
const clockSlack = time.Second

// checks runs every invariant over r, in order.
func checks(r *record) []Invariant {
	return []Invariant{
		{1, "deploy loop: every on-merge environment at the default branch's head, never moved backwards", checkConverged(r)},
		{2, "gate: nothing applied from a pull request without a later approval by someone else, nothing from a fork or another base", checkGate(r)},
		{3, "digest: what was applied is the plan that was reviewed", checkDigest(r)},
		{4, "records end: Deployments terminal, check runs completed, no lock held by a closed pull request", checkRecordsEnd(r)},
		{5, "bounds: nothing outside the allowed namespaces, nothing of others pruned or touched", checkBounds(r)},
		{6, "secrets: no Secret value in any request, comment or log line", checkSecrets(r)},
		{7, "applies run to their end: only their own timeout or a replica's death stops them", checkApplyEnds(r)},
		{8, "servers up: no crash or panic, every webhook answered within 10 s", checkServersUp(r)},
	}
}

func (r *record) envDeps(env string) []deployment {
	var out []deployment
	for _, d := range r.deps {
		if d.env == env {
			out = append(out, d)
		}
	}
	return out
}

func short(sha string) string { return sha[:min(7, len(sha))] }

// 1. Every on-merge environment is at the head (its files there are the
// ones it last deployed successfully), or its deploy of the head failed,
// or a dependency blocked it; and no success went to an ancestor of an
// earlier success except a reviewed rollback.
func checkConverged(r *record) []string {
	var out []string
	for _, env := range envOrder {
		deps := r.envDeps(env)
		var lastOK *deployment
		for i := range deps {
			if deps[i].last().state == "success" {
				lastOK = &deps[i]
			}
		}
		if r.mode[env] == "on-merge" && !r.atHead(env, deps, lastOK) {
			at := "never deployed"
			if lastOK != nil {
				at = "last deployed at " + short(lastOK.ref)
			}
			out = append(out, fmt.Sprintf("%s is not at main's head %s (%s) and no failed deploy or dependency explains it", env, short(r.head), at))
		}
		var done []deployment
		for _, d := range deps {
			if d.last().state != "success" {
				continue
			}
			for _, e := range done {
				if d.rollbackOf == "" && d.ref != e.ref && r.ancestor(d.ref, e.ref) {
					out = append(out, fmt.Sprintf("%s deployed %s (Deployment %d) after %s (Deployment %d), which descends from it, without a rollback", env, short(d.ref), d.id, short(e.ref), e.id))
					break
				}
			}
			done = append(done, d)
		}
	}
	return out
}

func (r *record) atHead(env string, deps []deployment, lastOK *deployment) bool {
	path := r.path[env]
	want := r.tree(r.head, path)
	if lastOK != nil && (r.tree(lastOK.ref, path) == want || lastOK.rollbackOf == r.head) {
		return true
	}
	if n := len(deps); n > 0 && deps[n-1].ref == r.head && deps[n-1].last().state == "failure" {
		return true
	}
	if lastOK == nil && r.neverChanged(path) {
		return true
	}
	// Blocked by a before-merge dependency the head's pull request
	// changed without applying it from its head.
	pr, ok := r.mergedBy[r.head]
	if !ok {
		return false
	}
	for _, dep := range r.dependsOn[env] {
		dpath := r.path[dep]
		if r.tree(r.parent(r.head), dpath) == r.tree(r.head, dpath) {
			continue
		}
		applied := false
		for _, d := range r.envDeps(dep) {
			if d.pr == pr && d.last().state == "success" && !r.mainLine[d.ref] {
				applied = true
			}
		}
		if !applied {
			return true
		}
	}
	return false
}

// neverChanged: path is as the first commit had it, which slipway does
// not deploy (nothing says what changed).
func (r *record) neverChanged(path string) bool {
	first := r.head
	for p := r.parent(first); p != ""; p = r.parent(first) {
		first = p
	}
	return r.tree(first, path) == r.tree(r.head, path)
}

// fromReview is a Deployment of a pull request's reviewed plan (before
// merge, or a rollback), as opposed to the default branch's.
func (r *record) fromReview(d deployment) bool {
	return d.rollbackOf != "" || (r.mode[d.env] == "before-merge" && !r.mainLine[d.ref])
}

// reviewedRun is the slipway check run a Deployment's plan was reviewed
// on: the plan (or rollback) run whose digest it records, else the latest
// one published before it.
func (r *record) reviewedRun(d deployment) (run checkRun, matched, found bool) {
	// A plan that may be applied passes; a rollback's plan is published
	// neutral (it is for review, not a required check).
	name, sha, conclusion := "slipway/plan: "+d.env, d.ref, "success"
	if d.rollbackOf != "" {
		name, sha, conclusion = "slipway/rollback: "+d.env, "", "neutral"
	}
	for _, cr := range r.runs {
		if cr.name != name || (sha != "" && cr.headSHA != sha) || cr.status != "completed" || cr.conclusion != conclusion ||
			cr.completed.After(d.created.Add(clockSlack)) {
			continue
		}
		if cr.externalID == d.digest {
			return cr, true, true
		}
		if !matched {
			run, found = cr, true
		}
	}
	return run, false, found
}

// 2. Nothing applied from a pull request without an approval of the
// applied commit, given after the plan was published and before the
// apply, by someone other than the author and the commit's pusher, and an
// /apply by a writer; nothing from a fork or a pull request into another
// branch; the default branch's environments only at its commits.
func checkGate(r *record) []string {
	var out []string
	for _, d := range r.deps {
		if !d.applied() {
			continue
		}
		if !r.fromReview(d) {
			if !r.mainLine[d.ref] {
				out = append(out, fmt.Sprintf("%s deployed %s (Deployment %d), which main never was at", d.env, short(d.ref), d.id))
			}
			continue
		}
		what := fmt.Sprintf("%s applied %s from #%d (Deployment %d)", d.env, short(d.ref), d.pr, d.id)
		p, ok := r.pulls[d.pr]
		switch {
		case !ok:
			out = append(out, what+": no such pull request")
			continue
		case p.fork:
			out = append(out, what+": the pull request is a fork's")
			continue
		case p.base != "main":
			out = append(out, what+": the pull request is into "+p.base)
			continue
		}
		run, _, found := r.reviewedRun(d)
		if !found {
			out = append(out, what+": no plan of it was ever published")
			continue
		}
		if !r.approvedAfter(d, p, run.completed) {
			out = append(out, fmt.Sprintf("%s: no approval by someone other than %s and the pusher between the plan (%s) and the apply",
				what, p.author, run.completed.Format(time.TimeOnly)))
		}
		if !r.askedBy(d, run.completed) {
			out = append(out, what+": no writer asked for it after the plan was published")
		}
	}
	return out
}

func (r *record) approvedAfter(d deployment, p pullInfo, published time.Time) bool {
	pusher := r.j.pushers[d.ref]
	for _, rv := range r.reviews[d.pr] {
		a, journaled := r.j.approvals[rv.id]
		if !journaled || (d.rollbackOf == "" && rv.commitID != d.ref) {
			continue
		}
		if strings.EqualFold(a.user, p.author) || (d.rollbackOf == "" && strings.EqualFold(a.user, pusher)) {
			continue
		}
		if a.at.Before(published.Add(-clockSlack)) || a.at.After(d.created.Add(clockSlack)) {
			continue
		}
		if at, ok := r.j.dismissed[rv.id]; ok && at.Before(d.created) {
			continue
		}
		return true
	}
	return false
}

func (r *record) askedBy(d deployment, published time.Time) bool {
	verb := "/apply"
	if d.rollbackOf != "" {
		verb = "/rollback"
	}
	for _, c := range r.j.commands {
		if c.pr == d.pr && strings.HasPrefix(c.text, verb) && slices.Contains(writers, c.user) &&
			!c.at.Before(published.Add(-clockSlack)) && !c.at.After(d.created.Add(clockSlack)) {
			return true
		}
	}
	return false
}

// 3. A reviewed apply records the digest of a plan published for review.
func checkDigest(r *record) []string {
	var out []string
	for _, d := range r.deps {
		if !d.applied() || !r.fromReview(d) {
			continue
		}
		if _, matched, _ := r.reviewedRun(d); !matched {
			out = append(out, fmt.Sprintf("%s applied %s from #%d (Deployment %d) recording plan %s, which no published plan has",
				d.env, short(d.ref), d.pr, d.id, d.digest))
		}
	}
	return out
}

// 4. Every record slipway opened is closed.
func checkRecordsEnd(r *record) []string {
	var out []string
	for _, d := range r.deps {
		switch s := d.last().state; s {
		case "success", "failure", "error", "inactive":
		default:
			out = append(out, fmt.Sprintf("Deployment %d of %s at %s ends %q", d.id, d.env, short(d.ref), s))
		}
	}
	for _, cr := range r.runs {
		if cr.status != "completed" {
			out = append(out, fmt.Sprintf("check run %d %q on %s is %s", cr.id, cr.name, short(cr.headSHA), cr.status))
		}
	}
	for _, l := range r.locks {
		if p, ok := r.pulls[l.pr]; ok && !p.open && strings.EqualFold(l.holderRepo, shop) {
			out = append(out, fmt.Sprintf("lock %s on %s is held by closed #%d", l.name, l.env, l.pr))
		}
	}
	return out
}

// 5. slipway's objects stay in the allowed namespaces, and objects that are
// not shop's are as they were.
func checkBounds(r *record) []string {
	var out []string
	for _, o := range r.objects {
		if !r.allowed[o.namespace] {
			out = append(out, fmt.Sprintf("%s %s/%s is slipway's, outside the allowed namespaces", o.kind, o.namespace, o.name))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(r.foreign)) {
		switch now, ok := r.foreignNow[key]; {
		case !ok:
			out = append(out, fmt.Sprintf("ConfigMap %s, no repository's, was deleted", key))
		case now != r.foreign[key]:
			out = append(out, fmt.Sprintf("ConfigMap %s, no repository's, was changed", key))
		}
	}
	if r.otherOK && !r.otherLive {
		out = append(out, fmt.Sprintf("%s's ConfigMap other-app was deployed and is gone", otherRepo))
	}
	return out
}

// 6. No Secret value, plain or base64, anywhere slipway wrote.
func checkSecrets(r *record) []string {
	var out []string
	for _, s := range r.j.secrets {
		forms := []string{s, base64.StdEncoding.EncodeToString([]byte(s))}
		for _, t := range r.texts {
			for _, f := range forms {
				if strings.Contains(t.body, f) {
					out = append(out, fmt.Sprintf("a Secret value (%s…) in %s", s[:min(16, len(s))], t.where))
					break
				}
			}
		}
	}
	return out
}

// 7. A failed apply failed on its own: not cancelled, unless a replica
// died or the API server went away while it ran; "interrupted" only after
// a replica died.
func checkApplyEnds(r *record) []string {
	var out []string
	for _, d := range r.deps {
		last := d.last()
		if last.state != "failure" && last.state != "error" {
			continue
		}
		desc := last.description
		from, to := d.created.Add(-clockSlack), last.at.Add(clockSlack)
		switch {
		case strings.Contains(desc, "interrupted"):
			if !r.killedDuring(from, to) {
				out = append(out, fmt.Sprintf("Deployment %d of %s marked interrupted, but no replica died while it ran: %s", d.id, d.env, desc))
			}
		case strings.Contains(desc, "not healthy after"), strings.Contains(desc, "not ready after"):
			// its own timeout
		case strings.Contains(desc, "context canceled"), strings.Contains(desc, "context deadline exceeded"),
			strings.Contains(desc, "apply cancelled"), strings.Contains(desc, "lost its claim"):
			if !r.killedDuring(from, to) && !r.outageDuring(from, to) {
				out = append(out, fmt.Sprintf("Deployment %d of %s at %s was cut short: %s", d.id, d.env, short(d.ref), desc))
			}
		}
	}
	return out
}

func (r *record) killedDuring(from, to time.Time) bool {
	for _, k := range r.j.kills {
		if !k.Before(from) && !k.After(to) {
			return true
		}
	}
	return false
}

func (r *record) outageDuring(from, to time.Time) bool {
	for _, o := range r.j.outages {
		if o.from.Before(to) && o.to.After(from) {
			return true
		}
	}
	return false
}

// 8. Replicas ended only when killed, never panicked, answered in time.
func checkServersUp(r *record) []string {
	return slices.Concat(r.crashes, r.panics, r.slowHooks)
}
