package server

// Hostile input: what a forger, a replayer, a fork or a careless manifest
// sends slipway, and what slipway must do with it: refuse, ignore or
// contain it, never crash, never leak a Secret.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	testworld "github.com/slipwayhq/slipway/internal/testkit/world"
)

// syncBuffer collects log lines from many goroutines.
type syncBuffer = testworld.Buffer

// noConfigFiles is a repository without .slipway.yaml: commands are
// answered without a cluster.
func noConfigFiles(*world) map[string]string { return map[string]string{"README.md": "shop\n"} }

// serving proves the server still works end to end: a /help gets its reply.
func (w *world) serving(n int) {
	w.t.Helper()
	before := len(w.replies(n))
	w.command(n, "alice", "/help")
	w.eventually("a /help reply", func() bool { return len(w.replies(n)) > before })
}

func TestForgedDeliveriesRefused(t *testing.T) {
	w := newWorldWith(t, 2, noConfigFiles)
	pr := w.openPR("change", "alice", map[string]string{"a.txt": "a\n"})
	body := []byte(`{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"id":1,"body":"/apply","user":{"login":"alice"}},"repository":{"name":"shop","owner":{"login":"acme"}},"installation":{"id":1}}`)
	forge := func(secret string, b []byte) string { return "sha256=" + hmacHex(secret, b) }
	tests := []struct {
		name    string
		body    []byte
		headers http.Header
		want    int
	}{
		{"signed with another secret", body, http.Header{"X-Hub-Signature-256": {forge("guess", body)}}, http.StatusUnauthorized},
		{"signature of another body", body, http.Header{"X-Hub-Signature-256": {forge(secret, []byte("{}"))}}, http.StatusUnauthorized},
		{"SHA-1 signature only", body, http.Header{"X-Hub-Signature-256": {""}, "X-Hub-Signature": {"sha1=" + strings.Repeat("0", 40)}}, http.StatusUnauthorized},
		{"no signature", body, http.Header{"X-Hub-Signature-256": {""}}, http.StatusUnauthorized},
		{"signature not hex", body, http.Header{"X-Hub-Signature-256": {"sha256=" + strings.Repeat("z", 64)}}, http.StatusUnauthorized},
		{"truncated signature", body, http.Header{"X-Hub-Signature-256": {forge(secret, body)[:20]}}, http.StatusUnauthorized},
		{"unknown algorithm", body, http.Header{"X-Hub-Signature-256": {"md5=" + hmacHex(secret, body)}}, http.StatusUnauthorized},
		{"no event header", body, http.Header{"X-Github-Event": {""}}, http.StatusBadRequest},
		{"over 25 MiB, signed", bytes.Repeat([]byte(" "), MaxWebhookBytes+1), nil, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := w.sim.SendRaw("issue_comment", tt.body, tt.headers)
			if err != nil {
				t.Fatal(err)
			}
			if d.StatusCode != tt.want {
				t.Errorf("status %d (%s), want %d", d.StatusCode, d.ResponseBody, tt.want)
			}
		})
	}
	w.serving(pr)
	if n := len(w.replies(pr)); n != 1 {
		t.Errorf("%d replies, want only the /help one: a forged delivery was handled", n)
	}
}

func TestReplayedDeliveryHandledOnce(t *testing.T) {
	logs := &syncBuffer{}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	w := newWorldOpts(t, 2, noConfigFiles, worldOptions{log: logs})
	pr := w.openPR("change", "alice", map[string]string{"a.txt": "a\n"})
	w.serving(pr)
	var helpID string
	for _, d := range w.sim.Deliveries() {
		var ev github.IssueCommentEvent
		if d.Event == "issue_comment" && json.Unmarshal(d.Payload, &ev) == nil && ev.GetComment().GetUser().GetLogin() == "alice" {
			helpID = d.ID // not the bot's reply, which slipway ignores anyway
		}
	}
	for range 3 {
		d, err := w.sim.Redeliver(helpID)
		if err != nil || d.StatusCode != http.StatusOK {
			t.Fatalf("redelivery: %v %d", err, d.StatusCode)
		}
	}
	// A forger who learns a future delivery id cannot spend it: an invalid
	// request does not mark the id as seen.
	const claimed = "11111111-2222-3333-4444-555555555555"
	if d, _ := w.sim.SendRaw("issue_comment", []byte(`{}`), http.Header{"X-Github-Delivery": {claimed}, "X-Hub-Signature-256": {"sha256=" + strings.Repeat("0", 64)}}); d.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged: %d", d.StatusCode)
	}
	var original githubsim.Delivery
	for _, d := range w.sim.Deliveries() {
		if d.ID == helpID {
			original = d
			break
		}
	}
	if d, err := w.sim.SendRaw("issue_comment", original.Payload, http.Header{"X-Github-Delivery": {claimed}}); err != nil || d.StatusCode != http.StatusOK {
		t.Fatalf("genuine delivery with the claimed id: %v %d", err, d.StatusCode)
	}
	w.eventually("the genuine delivery answered", func() bool { return len(w.replies(pr)) == 2 })
	time.Sleep(500 * time.Millisecond) // let any wrongly handled redelivery reply
	if n := len(w.replies(pr)); n != 2 {
		t.Errorf("%d replies, want 2: a redelivery was handled again", n)
	}
	if got := testutil.ToFloat64(w.srv.Metrics().DuplicateDeliveries); got != 3 {
		t.Errorf("duplicate deliveries counted %v, want 3", got)
	}
}

func hmacHex(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// flaky fails its first failures deliveries, then succeeds.
type flaky struct {
	events   []string
	failures int
	mu       sync.Mutex
	n        int
}

func (f *flaky) Handles() []string { return f.events }

func (f *flaky) Handle(context.Context, string, string, []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n <= f.failures {
		return errors.New("flaky: failing on purpose")
	}
	return nil
}

func (f *flaky) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// A delivery whose handling failed is handled again when redelivered: that
// is what a redelivery is for.
func TestFailedDeliveryHandledOnRedelivery(t *testing.T) {
	fails := &flaky{events: []string{"deployment_status"}, failures: 1}
	s := buildWith(t, testConfig(t), fails)
	body := []byte(`{}`)
	for range 3 {
		req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "deployment_status")
		req.Header.Set("X-GitHub-Delivery", "same-id")
		req.Header.Set("X-Hub-Signature-256", sign(body))
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		waitFor(t, func() bool {
			return testutil.ToFloat64(s.metrics.Running) == 0 && testutil.ToFloat64(s.metrics.QueueDepth) == 0
		})
		time.Sleep(20 * time.Millisecond)
	}
	if got := fails.calls(); got != 2 {
		t.Errorf("handled %d times, want 2 (the failure, then the retry; the third is a duplicate)", got)
	}
}

// Malformed but correctly signed payloads are answered and ignored: no 5xx,
// no panic, and the server goes on serving.
func TestMalformedSignedPayloads(t *testing.T) {
	w := newWorldWith(t, 2, noConfigFiles)
	pr := w.openPR("change", "alice", map[string]string{"a.txt": "a\n"})
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	bodies := map[string]string{
		"not JSON":          "this is not json",
		"array":             "[]",
		"null":              "null",
		"deeply nested":     deep,
		"wrong types":       `{"action":5,"number":"one","installation":"x","repository":[],"issue":{"pull_request":"yes","number":{}}}`,
		"no installation":   `{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"id":1,"body":"/plan","user":{"login":"alice","type":"User"}},"repository":{"name":"shop","owner":{"login":"acme"},"full_name":"acme/shop"}}`,
		"unknown PR":        fmt.Sprintf(`{"action":"opened","number":99999,"pull_request":{"number":99999},"repository":{"name":"shop","full_name":"acme/shop","owner":{"login":"acme"}},"installation":{"id":%d}}`, w.inst),
		"check run PR null": fmt.Sprintf(`{"action":"rerequested","check_run":{"name":"slipway/plan: x","pull_requests":[null,{}]},"repository":{"name":"shop","full_name":"acme/shop","owner":{"login":"acme"}},"installation":{"id":%d}}`, w.inst),
		"huge number":       `{"action":"opened","number":1e400}`,
		// Both used to panic: issue_comment without issue (IsPullRequest on
		// nil), push with a null commit.
		"created, no issue": `{"action":"created","comment":{"body":"/plan"}}`,
		"null commit":       fmt.Sprintf(`{"ref":"refs/heads/main","before":"a","after":"b","commits":[null],"repository":{"name":"shop","full_name":"acme/shop","default_branch":"main","owner":{"login":"acme","name":"acme"}},"installation":{"id":%d}}`, w.inst),
		"invalid UTF-8":     "{\"action\":\"created\",\"comment\":{\"body\":\"/plan \xff\xfe\"}}",
	}
	events := []string{"pull_request", "issue_comment", "push", "check_run", "pull_request_review", "installation", "installation_repositories"}
	for _, event := range events {
		for name, body := range bodies {
			d, err := w.sim.SendRaw(event, []byte(body), nil)
			if err != nil {
				t.Fatalf("%s %s: %v (did the server die?)", event, name, err)
			}
			if d.StatusCode >= 500 {
				t.Errorf("%s %s: status %d", event, name, d.StatusCode)
			}
		}
	}
	w.serving(pr)
	if got := testutil.ToFloat64(w.srv.Metrics().Panics.WithLabelValues("handler")); got != 0 {
		t.Errorf("%v handler panics", got)
	}
}

// panicky panics on every delivery of its event; its panic value carries a
// would-be secret that must reach the log only.
type panicky struct{}

const panicSecret = "panic-value-0d5e3b"

func (panicky) Handles() []string { return []string{"deployment_status"} }

func (panicky) Handle(context.Context, string, string, []byte) error {
	var m map[string]string
	m[panicSecret] = "boom" // a nil map: a real runtime panic
	return nil
}

// A handler that panics costs its delivery: the panic is logged with its
// stack, counted, and told to the pull request, and the server goes on.
func TestHandlerPanicRecoveredAndReported(t *testing.T) {
	logs := &syncBuffer{}
	w := newWorldOpts(t, 2, noConfigFiles, worldOptions{log: logs, extra: []githubapp.EventHandler{panicky{}}})
	pr := w.openPR("change", "alice", map[string]string{"a.txt": "a\n"})
	payload := fmt.Sprintf(`{"action":"created","number":%d,"repository":{"name":"shop","full_name":"acme/shop","owner":{"login":"acme"}},"installation":{"id":%d}}`, pr, w.inst)
	for i := range 2 {
		d, err := w.sim.SendRaw("deployment_status", []byte(payload), nil)
		if err != nil || d.StatusCode != http.StatusOK {
			t.Fatalf("delivery: %v %d", err, d.StatusCode)
		}
		w.eventually("the panic counted", func() bool {
			return testutil.ToFloat64(w.srv.Metrics().Panics.WithLabelValues("handler")) == float64(i+1)
		})
		w.reply(pr, "internal error") // sequential: the second edits the first's notice
	}
	notice := w.reply(pr, "slipway hit an internal error during `deployment_status`")
	if n := len(w.replies(pr)); n != 1 {
		t.Errorf("%d notices, want one edited in place", n)
	}
	for _, internal := range []string{panicSecret, "goroutine", "nil map", ".go:"} {
		if strings.Contains(notice, internal) {
			t.Errorf("the notice reveals %q:\n%s", internal, notice)
		}
	}
	if log := logs.String(); !strings.Contains(log, "hostile_test.go") || !strings.Contains(log, `"stack"`) {
		t.Errorf("the log has no stack of the panic:\n%s", log)
	}
	w.serving(pr)
}

// commentEvent is a signed issue_comment "created" on pull request n by
// alice with body, as GitHub would send it: the API refuses bodies over
// 65,536 characters, a webhook is the way to try larger ones.
func (w *world) commentEvent(n int, id int64, body string) []byte {
	w.t.Helper()
	ev := &github.IssueCommentEvent{
		Action:       github.String("created"),
		Issue:        &github.Issue{Number: github.Int(n), PullRequestLinks: &github.PullRequestLinks{URL: github.String("x")}},
		Comment:      &github.IssueComment{ID: github.Int64(id), Body: github.String(body), User: &github.User{Login: github.String("alice"), Type: github.String("User")}},
		Repo:         &github.Repository{Name: github.String("shop"), FullName: github.String(w.repo), Owner: &github.User{Login: github.String("acme")}},
		Installation: &github.Installation{ID: github.Int64(w.inst)},
		Sender:       &github.User{Login: github.String("alice"), Type: github.String("User")},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// Enormous comments cost nothing: a command is read from the first line
// only, and nobody's megabyte is echoed back.
func TestEnormousComments(t *testing.T) {
	w := newWorldWith(t, 2, noConfigFiles)
	pr := w.openPR("change", "alice", map[string]string{"a.txt": "a\n"})
	lines := strings.Repeat("/apply everything\n", 65_536)
	tests := []struct {
		name, body string
		reply      string // "" when the comment must be ignored
	}{
		{"1 MiB one-line /plan", "/plan " + strings.Repeat("staging ", 1<<17), ""},
		{"/plan then 1 MiB", "/plan\n" + strings.Repeat("x", 1<<20), "no `.slipway.yaml`"},
		{"65k lines, a command first", "/help\n" + lines, "slipway commands"},
		{"65k lines, prose first", "looks good\n" + lines, ""},
		{"two hundred unknown env names", "/plan " + manyNames(200), "Unknown environments"},
		{"a command line just over the limit", "/plan " + manyNames(300), ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.replies(pr))
			start := time.Now()
			d, err := w.sim.SendRaw("issue_comment", w.commentEvent(pr, int64(900+i), tt.body), nil)
			if err != nil || d.StatusCode != http.StatusOK {
				t.Fatalf("delivery: %v %d", err, d.StatusCode)
			}
			if tt.reply != "" {
				w.eventually("a reply", func() bool { return len(w.replies(pr)) > before })
				got := w.replies(pr)[before]
				if !strings.Contains(got, tt.reply) || len(got) > 10_000 {
					t.Errorf("reply of %d bytes, want one saying %q: %.300q", len(got), tt.reply, got)
				}
			} else {
				time.Sleep(300 * time.Millisecond)
				if got := w.replies(pr); len(got) != before {
					t.Errorf("answered an ignorable comment: %.200q", got[len(got)-1])
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	w.serving(pr)
}

// manyNames is "e0,e1,…" with n names.
func manyNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprint("e", i)
	}
	return strings.Join(names, ",")
}

// leakValues are Secret values placed where slipway reads them; none may
// reach GitHub or the log in any encoding.
var leakValues = map[string]string{
	"data":                "leak-data-5b1e9c",
	"stringData":          "leak-stringdata-27fd40",
	"config-looking key":  "leak-configkey-8a3310",
	"already base64":      "leak-b64-c0ffee91",
	"secretGenerator":     "leak-generator-4d2a77",
	"helm value":          "leak-helm-value-e1b2c3",
	"helm schema pattern": "Leak-Helm-Schema-99aa",
	"CEL rule error":      "leak-cel-41f0aa",
}

func encodings(v string) []string {
	b := base64.StdEncoding.EncodeToString([]byte(v))
	return []string{v, b, strings.TrimRight(b, "="), base64.URLEncoding.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte(b))}
}

func (w *world) leakyFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - {name: kust, path: deploy/kust, cluster: test, namespace: %[1]s, mode: before-merge, wait: 0}
  - {name: chart, path: deploy/chart, cluster: test, namespace: %[2]s, mode: before-merge, wait: 0, helm: {values: [values-prod.yaml]}}
  - {name: schema, path: deploy/schema, cluster: test, namespace: %[2]s, helm: {values: [values-prod.yaml]}}
  - name: rules
    path: deploy/rules
    cluster: test
    namespace: %[2]s
    policy:
      rules:
        - {name: cel-quotes, match: {kinds: [Secret]}, expr: "object.stringData[object.stringData.password] == 'x'"}
`, w.staging, w.prod),
		"README.md": "shop\n",
	}
}

// leakyChange is the pull request that puts Secret values everywhere.
func leakyChange(round string) map[string]string {
	v := map[string]string{}
	for k, val := range leakValues {
		v[k] = val + round
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	chart := "apiVersion: v2\nname: app\nversion: 0.1.0\n"
	return map[string]string{
		"deploy/kust/kustomization.yaml": "resources: [secrets.yaml]\nsecretGenerator:\n  - name: gen\n    literals: [token=" + v["secretGenerator"] + "]\n",
		"deploy/kust/secrets.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: data\ndata:\n  token: " + b64(v["data"]) + "\n---\n" +
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: string\nstringData:\n  password: " + v["stringData"] + "\n---\n" +
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: config\nstringData:\n  config.yaml: |\n    database:\n      password: " + v["config-looking key"] + "\n---\n" +
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: encoded\nstringData:\n  token: " + b64(v["already base64"]) + "\n",
		"deploy/chart/Chart.yaml":          chart,
		"deploy/chart/values-prod.yaml":    "password: " + v["helm value"] + "\n",
		"deploy/chart/templates/db.yaml":   "apiVersion: v1\nkind: Secret\nmetadata:\n  name: helm-db\nstringData:\n  password: {{ .Values.password | quote }}\n",
		"deploy/schema/Chart.yaml":         chart,
		"deploy/schema/values-prod.yaml":   "password: " + v["helm schema pattern"] + "\n",
		"deploy/schema/values.schema.json": `{"properties": {"password": {"type": "string", "pattern": "^[a-z]+$"}}}`,
		"deploy/schema/templates/db.yaml":  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: schema-db\nstringData:\n  password: {{ .Values.password | quote }}\n",
		"deploy/rules/secret.yaml":         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: rules\nstringData:\n  password: " + v["CEL rule error"] + "\n",
	}
}

// No Secret value reaches GitHub or the log, wherever it sits, through
// plans (create and update), a render error, a policy error and applies.
func TestSecretValuesNeverLeave(t *testing.T) {
	logs := &syncBuffer{}
	w := newWorldOpts(t, 4, (*world).leakyFiles, worldOptions{log: logs})
	w.patience = 2 * time.Minute
	defer func() {
		w.noLeaks(logs) // also when a step below failed
		if t.Failed() {
			for _, r := range w.replies(1) {
				t.Logf("reply: %.500s", r)
			}
		}
	}()
	pr := w.openPR("secrets", "alice", leakyChange(""))
	plans := []string{"kust", "chart", "schema", "rules"}
	for _, env := range plans {
		w.completed(w.head(pr), "slipway/plan: "+env)
	}
	if run := w.completed(w.head(pr), "slipway/plan: schema"); run.GetConclusion() != "failure" || !strings.Contains(run.GetOutput().GetSummary()+run.GetOutput().GetText(), "does not match pattern") {
		t.Errorf("schema plan: %s %q", run.GetConclusion(), run.GetOutput().GetSummary())
	}
	if run := w.completed(w.head(pr), "slipway/policy: rules"); !strings.Contains(run.GetOutput().GetSummary()+run.GetOutput().GetText(), "not shown") {
		t.Errorf("rules policy does not withhold the error: %q", run.GetOutput().GetSummary())
	}
	w.policiesDone(pr, "kust", "chart")
	w.command(pr, "alice", "/apply kust chart")
	w.settled("kust", 1)
	w.settled("chart", 1)

	// Every value changes: the plan shows updates, then they are applied.
	if _, err := w.sim.Push(w.repo, "secrets", leakyChange("-v2"), "rotate", "alice"); err != nil {
		t.Fatal(err)
	}
	for _, env := range plans {
		w.completed(w.head(pr), "slipway/plan: "+env)
	}
	w.policiesDone(pr, "kust", "chart")
	w.command(pr, "alice", "/apply kust chart")
	w.settled("kust", 2)
	w.settled("chart", 2)
	if c := w.stickyComments(pr); len(c) == 0 || !strings.Contains(c[0].GetBody(), "<secret hmac:") {
		t.Errorf("the plan comment shows no masked Secret: %v", github.Stringify(c))
	}
}

// policiesDone waits until the policy checks of envs at n's head passed.
func (w *world) policiesDone(n int, envs ...string) {
	w.t.Helper()
	for _, env := range envs {
		w.eventually("policy of "+env+" passes", func() bool {
			for _, r := range w.checkRuns(w.head(n), "slipway/policy: "+env) {
				if r.GetConclusion() == "success" {
					return true
				}
			}
			return false
		})
	}
}

// noLeaks fails for every form of every leakValues value found in a
// request slipway made to GitHub or in its log.
func (w *world) noLeaks(logs *syncBuffer) {
	t := w.t
	w.sim.Flush()
	var seen []string
	for name, v := range leakValues {
		for _, round := range []string{"", "-v2"} {
			for _, form := range encodings(v + round) {
				for _, r := range w.sim.Requests() {
					if strings.Contains(string(r.Body), form) || strings.Contains(r.Path+"?"+r.Query, form) {
						seen = append(seen, fmt.Sprintf("%s (%q) in %s %s", name, form, r.Method, r.Path))
					}
				}
				if strings.Contains(logs.String(), form) {
					seen = append(seen, fmt.Sprintf("%s (%q) in the log", name, form))
				}
			}
		}
	}
	for _, s := range seen {
		t.Error("leaked: " + s)
	}
}
