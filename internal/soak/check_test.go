package soak

import (
	"strings"
	"testing"
	"time"
)

// A tiny history: main went c0 → c1 → m2 (merge of #1, whose head is h1)
// → c3. Trees are named after the commit whose change made them.
var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func fakeRecord() *record {
	parents := map[string]string{"c1": "c0", "m2": "c1", "c3": "m2", "h1": "c1"}
	trees := map[string]map[string]string{
		"c0": {"deploy/staging": "s0", "deploy/production": "p0", "deploy/extra": "e0"},
		"c1": {"deploy/staging": "s0", "deploy/production": "p1", "deploy/extra": "e1"},
		"h1": {"deploy/staging": "s1", "deploy/production": "p2", "deploy/extra": "e1"},
		"m2": {"deploy/staging": "s1", "deploy/production": "p2", "deploy/extra": "e1"},
		"c3": {"deploy/staging": "s1", "deploy/production": "p2", "deploy/extra": "e3"},
	}
	ancestor := func(a, b string) bool {
		for c := b; c != ""; c = parents[c] {
			if c == a {
				return true
			}
		}
		return b == "m2" && a == "h1" || b == "c3" && a == "h1"
	}
	ok := func(id int64, env, ref string, pr int, digest string, created int) deployment {
		return deployment{id: id, env: env, ref: ref, pr: pr, digest: digest, tool: "slipway", created: at(created),
			states: []status{{"in_progress", "applying", at(created)}, {"success", "applied", at(created + 5)}}}
	}
	return &record{
		head:      "c3",
		mainLine:  map[string]bool{"c0": true, "c1": true, "m2": true, "c3": true},
		mode:      envMode,
		path:      map[string]string{"staging": "deploy/staging", "production": "deploy/production", "extra": "deploy/extra"},
		dependsOn: map[string][]string{"production": {"staging"}},
		deps: []deployment{
			ok(1, "production", "c1", 0, "", 10),
			ok(2, "extra", "c1", 0, "", 10),
			ok(3, "staging", "h1", 1, "sha256:aaa", 40),
			ok(4, "production", "m2", 1, "", 60),
			ok(5, "extra", "c3", 0, "", 80),
		},
		runs: []checkRun{
			{id: 10, name: "slipway/plan: staging", headSHA: "h1", status: "completed", conclusion: "success", externalID: "sha256:aaa", completed: at(20)},
		},
		pulls:    map[int]pullInfo{1: {author: "alice", base: "main", merged: true}},
		reviews:  map[int][]review{1: {{id: 100, user: "bob", state: "APPROVED", commitID: "h1", submitted: at(30)}}},
		mergedBy: map[string]int{"m2": 1},
		allowed:  map[string]bool{"soak-staging": true},
		objects:  []liveObject{{"soak-staging", "ConfigMap", "app"}},
		foreign:  map[string]string{"soak-staging/foreign": "7"}, foreignNow: map[string]string{"soak-staging/foreign": "7"},
		texts: []text{{"request POST /check-runs", "a masked value"}},
		j: &journalView{
			pushers:   map[string]string{"h1": "alice"},
			approvals: map[int64]approval{100: {pr: 1, user: "bob", at: at(30)}},
			dismissed: map[int64]time.Time{},
			commands:  []command{{pr: 1, user: "alice", text: "/apply staging", at: at(35)}},
			secrets:   []string{"hunter2-secret"},
		},
		tree:     func(ref, path string) string { return trees[ref][path] },
		ancestor: ancestor,
		parent:   func(sha string) string { return parents[sha] },
	}
}

// The fake history keeps every promise; each case breaks one, and only
// its invariant reports it.
func TestChecksEachCatchTheirOwnBreak(t *testing.T) {
	cases := []struct {
		name   string
		want   int // the invariant that must report, 0: none
		break_ func(r *record)
	}{
		{"a history that keeps every promise", 0, func(*record) {}},
		{"production left behind the head", 1, func(r *record) {
			r.deps[3].states[1].state = "failure" // m2 failed, and it is not the head
		}},
		{"production behind because the head's merge left staging unapplied", 0, func(r *record) {
			r.head, r.deps = "m2", r.deps[:2]
		}},
		{"production behind although staging was applied from the merged head", 1, func(r *record) {
			r.head, r.deps = "m2", r.deps[:3]
		}},
		{"production moved back to an ancestor", 1, func(r *record) {
			r.deps = append(r.deps, deployment{id: 6, env: "production", ref: "c1", tool: "slipway", created: at(90),
				states: []status{{"success", "applied", at(95)}}})
		}},
		{"a rollback may go back", 0, func(r *record) {
			r.deps = append(r.deps, deployment{id: 6, env: "extra", ref: "c1", rollbackOf: "c3", pr: 1, digest: "sha256:rb", tool: "slipway", created: at(90),
				states: []status{{"in_progress", "", at(90)}, {"success", "applied", at(95)}}})
			r.runs = append(r.runs, checkRun{id: 11, name: "slipway/rollback: extra", headSHA: "h1", status: "completed", conclusion: "neutral", externalID: "sha256:rb", completed: at(85)})
			r.j.approvals[101] = approval{pr: 1, user: "carol", at: at(87)}
			r.reviews[1] = append(r.reviews[1], review{id: 101, user: "carol", state: "APPROVED", commitID: "h1"})
			r.j.commands = append(r.j.commands, command{pr: 1, user: "bob", text: "/rollback extra", at: at(88)})
		}},
		{"applied with the approval given before the plan", 2, func(r *record) {
			r.j.approvals[100] = approval{pr: 1, user: "bob", at: at(10)}
		}},
		{"applied on the pusher's approval", 2, func(r *record) { r.j.pushers["h1"] = "bob" }},
		{"applied after the approval was dismissed", 2, func(r *record) { r.j.dismissed[100] = at(33) }},
		{"applied from a fork", 2, func(r *record) { p := r.pulls[1]; p.fork = true; r.pulls[1] = p }},
		{"applied with a digest nobody reviewed", 3, func(r *record) { r.deps[2].digest = "sha256:zzz" }},
		{"a Deployment left in progress", 4, func(r *record) {
			r.deps = append(r.deps, deployment{id: 8, env: "production", ref: "c3", tool: "slipway", created: at(90),
				states: []status{{"in_progress", "applying", at(90)}}})
		}},
		{"a check run left in progress", 4, func(r *record) {
			r.runs = append(r.runs, checkRun{id: 12, name: "slipway/apply: staging", headSHA: "h1", status: "in_progress"})
		}},
		{"a lock held by a closed pull request", 4, func(r *record) {
			r.locks = []lockLease{{name: "slipway-lock-x", env: "staging", holderRepo: shop, pr: 1}}
		}},
		{"an object outside the allowed namespaces", 5, func(r *record) {
			r.objects = append(r.objects, liveObject{"default", "ConfigMap", "escape"})
		}},
		{"a foreign object changed", 5, func(r *record) { r.foreignNow["soak-staging/foreign"] = "8" }},
		{"a Secret value in a log line", 6, func(r *record) {
			r.texts = append(r.texts, text{"log replica-0.1.log:3", `{"msg":"data hunter2-secret"}`})
		}},
		{"a Secret value base64 in a request", 6, func(r *record) {
			r.texts = append(r.texts, text{"request PATCH /check-runs/1", "aHVudGVyMi1zZWNyZXQ="})
		}},
		{"an apply cancelled with no replica dead", 7, func(r *record) {
			r.deps[4].states[1] = status{"error", "failed: apply: context canceled", at(82)}
			r.deps = append(r.deps, deployment{id: 7, env: "extra", ref: "c3", tool: "slipway", created: at(100),
				states: []status{{"in_progress", "", at(100)}, {"success", "", at(105)}}})
		}},
		{"an apply cancelled while a replica died is its death", 0, func(r *record) {
			r.deps[4].states[1] = status{"error", "interrupted: slipway stopped before this finished", at(120)}
			r.j.kills = []time.Time{at(81)}
			r.deps = append(r.deps, deployment{id: 7, env: "extra", ref: "c3", tool: "slipway", created: at(130),
				states: []status{{"in_progress", "", at(130)}, {"success", "", at(135)}}})
		}},
		{"a webhook answered late", 8, func(r *record) { r.slowHooks = []string{"issue_comment delivery x answered after 11s"} }},
		{"a panic logged", 8, func(r *record) { r.panics = []string{"log replica-1.2.log:9: panic boom"} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := fakeRecord()
			c.break_(r)
			for _, inv := range checks(r) {
				got := len(inv.Violations) > 0
				if want := inv.N == c.want; got != want {
					t.Errorf("invariant %d (%s): violations %q, want reported: %v", inv.N, inv.Name, inv.Violations, want)
				}
			}
		})
	}
}

func TestViolationsNameWhatBroke(t *testing.T) {
	r := fakeRecord()
	r.deps[2].digest = "sha256:zzz"
	v := checkDigest(r)
	if len(v) != 1 || !strings.Contains(v[0], "#1") || !strings.Contains(v[0], "sha256:zzz") || !strings.Contains(v[0], "Deployment 3") {
		t.Errorf("digest violation %q does not name the pull request, the digest and the Deployment", v)
	}
}
