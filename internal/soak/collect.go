package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// collect gathers the record once the system has settled.
func (w *world) collect(ctx context.Context, j *journal) (*record, error) {
	r := &record{
		mode:      envMode,
		path:      map[string]string{"staging": "deploy/staging", "production": "deploy/production", "extra": "deploy/extra"},
		dependsOn: map[string][]string{"production": {"staging"}},
		pulls:     map[int]pullInfo{},
		reviews:   map[int][]review{},
		mergedBy:  map[string]int{},
		mainLine:  map[string]bool{},
		allowed:   map[string]bool{otherNS: true, storeNS: true},
		foreign:   w.foreign,
	}
	for _, ns := range envNamespaces {
		r.allowed[ns] = true
	}
	g := &gitReader{dir: w.sim.Repo(shop).Dir, cache: map[string]gitAnswer{}}
	r.tree, r.ancestor, r.parent = g.tree, g.ancestor, g.parent
	r.head = w.sim.Head(shop, "main")
	line, err := g.git("rev-list", "--first-parent", r.head)
	if err != nil {
		return nil, err
	}
	for _, sha := range strings.Fields(line) {
		r.mainLine[sha] = true
	}
	w.collectGitHub(r)
	if err := w.collectCluster(ctx, r); err != nil {
		return nil, err
	}
	w.collectTexts(r)
	j.mu.Lock()
	r.j = &journalView{kills: j.kills, outages: j.outages, pushers: j.pushers, approvals: j.approvals,
		dismissed: j.dismissed, commands: j.commands, secrets: j.secrets}
	j.mu.Unlock()
	return r, nil
}

func (w *world) collectGitHub(r *record) {
	bot := w.sim.BotLogin()
	for _, d := range w.sim.Deployments(shop) {
		var payload struct {
			PR         int    `json:"pull_request"`
			Digest     string `json:"plan_digest"`
			Tool       string `json:"tool"`
			RollbackOf string `json:"rollback_of"`
		}
		_ = json.Unmarshal(d.Payload, &payload)
		if payload.Tool != "slipway" || !strings.EqualFold(d.GetCreator().GetLogin(), bot) {
			continue
		}
		dep := deployment{id: d.GetID(), env: d.GetEnvironment(), ref: d.GetSHA(), creatorLogin: d.GetCreator().GetLogin(),
			pr: payload.PR, digest: payload.Digest, rollbackOf: payload.RollbackOf, tool: payload.Tool, created: d.GetCreatedAt().Time}
		for _, s := range w.sim.DeploymentStatuses(shop, d.GetID()) {
			dep.states = append(dep.states, status{s.GetState(), s.GetDescription(), s.GetCreatedAt().Time})
		}
		r.deps = append(r.deps, dep)
	}
	for _, cr := range w.sim.CheckRuns(shop) {
		if cr.GetApp().GetSlug() != w.sim.AppSlug() {
			continue
		}
		r.runs = append(r.runs, checkRun{id: cr.GetID(), name: cr.GetName(), headSHA: cr.GetHeadSHA(), status: cr.GetStatus(),
			conclusion: cr.GetConclusion(), externalID: cr.GetExternalID(), completed: cr.GetCompletedAt().Time})
	}
	for n := 1; ; n++ {
		p := w.sim.PR(shop, n)
		if p == nil {
			break
		}
		r.pulls[n] = pullInfo{author: p.GetUser().GetLogin(), base: p.GetBase().GetRef(), fork: p.GetHead().GetRepo().GetFork(),
			open: p.GetState() == "open", merged: p.GetMerged()}
		if p.GetMerged() {
			r.mergedBy[p.GetMergeCommitSHA()] = n
		}
		for _, rv := range w.sim.Reviews(shop, n) {
			r.reviews[n] = append(r.reviews[n], review{id: rv.GetID(), user: rv.GetUser().GetLogin(), state: rv.GetState(),
				commitID: rv.GetCommitID(), submitted: rv.GetSubmittedAt().Time})
		}
	}
	for _, d := range w.sim.Deployments(otherRepo) {
		for _, s := range w.sim.DeploymentStatuses(otherRepo, d.GetID()) {
			if s.GetState() == "success" {
				r.otherOK = true
			}
		}
	}
	for _, d := range w.sim.Deliveries() {
		if d.Sent && d.Duration > webhookDeadline {
			r.slowHooks = append(r.slowHooks, fmt.Sprintf("%s delivery %s answered after %s", d.Event, d.ID, d.Duration.Round(100e6)))
		}
	}
}

func (w *world) collectCluster(ctx context.Context, r *record) error {
	c := w.cluster.Client()
	managed := func(fields []metav1.ManagedFieldsEntry) bool {
		for _, f := range fields {
			if f.Manager == "slipway" {
				return true
			}
		}
		return false
	}
	cms, err := c.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	r.foreignNow = map[string]string{}
	for _, o := range cms.Items {
		key := o.Namespace + "/" + o.Name
		if _, ok := r.foreign[key]; ok {
			r.foreignNow[key] = o.ResourceVersion
		}
		if o.Namespace == otherNS && o.Name == "other-app" {
			r.otherLive = true
		}
		if managed(o.ManagedFields) {
			r.objects = append(r.objects, liveObject{o.Namespace, "ConfigMap", o.Name})
		}
	}
	secrets, err := c.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range secrets.Items {
		if managed(o.ManagedFields) {
			r.objects = append(r.objects, liveObject{o.Namespace, "Secret", o.Name})
		}
	}
	deps, err := c.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range deps.Items {
		if managed(o.ManagedFields) {
			r.objects = append(r.objects, liveObject{o.Namespace, "Deployment", o.Name})
		}
	}
	leases, err := c.CoordinationV1().Leases(storeNS).List(ctx, metav1.ListOptions{LabelSelector: "slipway.dev/lease=environment-lock"})
	if err != nil {
		return err
	}
	for _, l := range leases.Items {
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			continue
		}
		pr, _ := strconv.Atoi(l.Annotations["slipway.dev/pull-request"])
		r.locks = append(r.locks, lockLease{name: l.Name, env: l.Annotations["slipway.dev/environment"],
			holderRepo: l.Annotations["slipway.dev/holder-repo"], pr: pr})
	}
	return nil
}

// collectTexts reads every request slipway made of GitHub and every line
// it logged; log lines with a panic are noted.
func (w *world) collectTexts(r *record) {
	for _, q := range w.sim.Requests() {
		if len(q.Body) > 0 {
			r.texts = append(r.texts, text{fmt.Sprintf("request %s %s", q.Method, q.Path), string(q.Body)})
		}
	}
	for _, rep := range w.replicas {
		rep.mu.Lock()
		logs, crashes := append([]string(nil), rep.logs...), append([]string(nil), rep.crashes...)
		rep.mu.Unlock()
		r.crashes = append(r.crashes, crashes...)
		for _, path := range logs {
			f, err := os.Open(path)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for n := 1; sc.Scan(); n++ {
				line := sc.Text()
				where := fmt.Sprintf("log %s:%d", filepath.Base(path), n)
				r.texts = append(r.texts, text{where, line})
				var entry struct {
					Panic   string `json:"panic"`
					Message string `json:"message"`
				}
				if json.Unmarshal([]byte(line), &entry) == nil && entry.Panic != "" {
					r.panics = append(r.panics, fmt.Sprintf("%s: panic %s (%s)", where, entry.Panic, entry.Message))
				} else if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
					r.panics = append(r.panics, fmt.Sprintf("%s: %s", where, line))
				}
			}
			f.Close()
		}
	}
}

// gitReader answers the checks' questions about the repository's history.
type gitReader struct {
	dir   string
	mu    sync.Mutex
	cache map[string]gitAnswer
}

type gitAnswer struct {
	out string
	err error
}

func (g *gitReader) git(args ...string) (string, error) {
	key := strings.Join(args, "\x00")
	g.mu.Lock()
	if a, ok := g.cache[key]; ok {
		g.mu.Unlock()
		return a.out, a.err
	}
	g.mu.Unlock()
	cmd := exec.Command("git", append([]string{"-C", g.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	out, err := cmd.Output()
	v := strings.TrimSpace(string(out))
	if err != nil {
		v = ""
	}
	g.mu.Lock()
	g.cache[key] = gitAnswer{v, err}
	g.mu.Unlock()
	return v, err
}

func (g *gitReader) tree(ref, path string) string {
	v, _ := g.git("rev-parse", "--verify", "--quiet", ref+":"+path)
	return v
}

func (g *gitReader) ancestor(a, b string) bool {
	_, err := g.git("merge-base", "--is-ancestor", a, b)
	return err == nil
}

func (g *gitReader) parent(sha string) string {
	v, _ := g.git("rev-parse", "--verify", "--quiet", sha+"^1")
	return v
}
