package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/leader"
	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

// replicaLease is store.lease_duration in these tests: short, so a dead
// replica's claims expire within seconds.
const replicaLease = 3 * time.Second

// replica is one of several slipway servers sharing a Lease namespace.
type replica struct {
	name string
	srv  *Server
	hook string // its webhook URL
	dead atomic.Bool
	kill func() // cuts it off from GitHub and the cluster
}

// replicaSet is slipway run as several replicas behind a webhook front, all
// keeping their locks in one namespace of the test cluster.
type replicaSet struct {
	w        *world
	storeNS  string
	front    *front
	replicas []*replica
}

func newReplicaSet(t *testing.T, files func(*world) map[string]string, killable ...bool) *replicaSet {
	t.Helper()
	w := newSimWorld(t)
	w.patience = 2 * time.Minute
	rs := &replicaSet{w: w, storeNS: testenv.NewNamespace(t, w.env), front: &front{pins: map[int]int{}}}
	fs := httptest.NewServer(rs.front)
	t.Cleanup(fs.Close)
	for i, k := range killable {
		r := rs.start(fmt.Sprintf("replica-%d", i), k)
		rs.replicas = append(rs.replicas, r)
		rs.front.add(r)
		if i == 0 {
			// The first replica leads: the others start once it does.
			w.eventually("replica-0 leads", func() bool { return rs.leader() == r.srv.identity })
		}
	}
	w.sim.SetWebhookURL(fs.URL + WebhookPath)
	w.populate(files)
	return rs
}

// start runs one replica. A killable one reaches GitHub and the cluster
// through proxies that kill cuts, as if its process had died: nothing it
// does afterwards reaches anyone, and it never answers again.
func (rs *replicaSet) start(name string, killable bool) *replica {
	t, w := rs.w.t, rs.w
	cfg := w.serverConfig(2)
	cfg.Store = config.Store{Kind: config.StoreKubernetes, Namespace: rs.storeNS, Cluster: "test", LeaseDuration: config.Duration(replicaLease)}
	// The leader's resync finishes a dead replica's records once its run
	// Lease has expired, which may be just after leadership moved.
	cfg.Server.ResyncInterval = config.Duration(time.Second)
	r := &replica{name: name, kill: func() {}}
	if killable {
		simURL, _ := url.Parse(w.sim.URL())
		gh := newCutProxy(t, simURL.Host)
		apiURL, _ := url.Parse(w.env.Config().Host)
		kube := newCutProxy(t, apiURL.Host)
		via := "http://" + gh.addr()
		cfg.GitHub.WebURL, cfg.GitHub.V3APIURL, cfg.GitHub.V4APIURL = via, via+"/api/v3/", via+"/api/graphql"
		cfg.Clusters[0].Kubeconfig = kubeconfigVia(t, w.env, kube.addr())
		r.kill = func() { r.dead.Store(true); gh.cut(); kube.cut() }
	}
	out := &quietAfterTest{t: t}
	t.Cleanup(out.close) // registered first, so it runs last
	srv, err := New(cfg, zerolog.New(out).Level(zerolog.WarnLevel).With().Str("replica", name).Logger())
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.hook = "http://" + ln.Addr().String() + WebhookPath
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil && !r.dead.Load() {
				t.Errorf("%s shutdown: %v", name, err)
			}
		case <-time.After(time.Duration(cfg.Server.ShutdownTimeout) + 5*time.Second):
			if !r.dead.Load() {
				t.Errorf("%s did not shut down", name)
			}
		}
	})
	return r
}

// leader is the identity holding the leader Lease.
func (rs *replicaSet) leader() string {
	l, err := rs.w.env.Client().CoordinationV1().Leases(rs.storeNS).Get(context.Background(), leader.LeaseName, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// runHolder is the replica holding a live run Lease, if any.
func (rs *replicaSet) runHolder() string {
	list, err := rs.w.env.Client().CoordinationV1().Leases(rs.storeNS).List(context.Background(), metav1.ListOptions{LabelSelector: "slipway.dev/lease=run"})
	if err != nil {
		rs.w.t.Fatal(err)
	}
	for _, l := range list.Items {
		s := l.Spec
		if s.HolderIdentity != nil && s.RenewTime != nil && s.LeaseDurationSeconds != nil &&
			time.Now().Before(s.RenewTime.Add(time.Duration(*s.LeaseDurationSeconds)*time.Second)) {
			return *s.HolderIdentity
		}
	}
	return ""
}

// stagingFiles is a repository whose staging is applied before merge and
// locked at /apply, so two pull requests can both plan it.
func (w *world) stagingFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    mode: before-merge
    lock: on-apply
    wait: 90s
`, w.staging),
		"deploy/staging/base.yaml": configMapYAML("base", "1"),
	}
}

// Two pull requests /apply staging at the same moment, each on its own
// replica: the Lease lock lets exactly one through; the other is told who
// holds staging.
func TestReplicasApplyOneAtATime(t *testing.T) {
	rs := newReplicaSet(t, (*world).stagingFiles, false, false)
	w := rs.w
	prs := []int{
		w.openPR("from-a", "alice", map[string]string{"deploy/staging/a.yaml": configMapYAML("from-a", "a")}),
		w.openPR("from-b", "bob", map[string]string{"deploy/staging/b.yaml": configMapYAML("from-b", "b")}),
	}
	for i, pr := range prs {
		w.completed(w.head(pr), "slipway/plan: staging")
		rs.front.pin(pr, i)
	}

	var wg sync.WaitGroup
	errs := make([]error, len(prs))
	start := make(chan struct{})
	for i, pr := range prs {
		wg.Go(func() {
			<-start
			_, errs[i] = w.sim.Comment(w.repo, pr, "alice", "/apply staging")
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	recs := w.settled("staging", 1)
	var payload struct {
		PR int `json:"pull_request"`
	}
	if err := json.Unmarshal(recs[0].d.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	winner, loser, winnerCM, loserCM := prs[0], prs[1], "from-a", "from-b"
	if payload.PR == prs[1] {
		winner, loser, winnerCM, loserCM = prs[1], prs[0], "from-b", "from-a"
	}
	if got := strings.Join(recs[0].states, ","); payload.PR != winner || got != "in_progress,success" {
		t.Fatalf("deployment of #%d: %s (%s)", payload.PR, got, recs[0].last.GetDescription())
	}
	w.reply(loser, fmt.Sprintf("`staging` is locked by #%d", winner))
	w.sim.Flush()
	if n := len(w.deployments("staging")); n != 1 {
		t.Errorf("%d Deployment records of staging, want 1", n)
	}
	if w.configMap(w.staging, winnerCM) == nil {
		t.Errorf("#%d was applied, yet its ConfigMap %s is missing", winner, winnerCM)
	}
	if w.configMap(w.staging, loserCM) != nil {
		t.Errorf("#%d was refused, yet its ConfigMap %s exists", loser, loserCM)
	}
}

// A replica dies mid-apply. While its run Lease is live, another replica
// refuses to apply the environment and names it; once the Lease expires,
// the other replica applies, and takes over leadership too. The dying
// replica is held mid-apply by GitHub: a secondary rate limit on its first
// Deployment status makes it wait a minute, holding the run Lease, after
// the Deployment record exists and before anything reaches the cluster.
func TestReplicaDiesMidApply(t *testing.T) {
	rs := newReplicaSet(t, (*world).stagingFiles, true, false)
	w, dying, survivor := rs.w, rs.replicas[0], rs.replicas[1]
	pr := w.openPR("slow", "alice", map[string]string{"deploy/staging/slow.yaml": configMapYAML("slow", "1")})
	t.Cleanup(func() { w.logConversation(pr) })
	w.completed(w.head(pr), "slipway/plan: staging")
	w.eventually("policy passes", func() bool {
		runs := w.checkRuns(w.head(pr), "slipway/policy: staging")
		return len(runs) > 0 && runs[0].GetConclusion() == "success"
	})

	if err := w.sim.InjectFault(githubsim.SecondaryRateLimit("POST", `/deployments/\d+/statuses$`, time.Minute)); err != nil {
		t.Fatal(err)
	}
	rs.front.pin(pr, 0)
	w.command(pr, "alice", "/apply staging")
	w.eventually("replica-0 applying staging, held by GitHub's rate limit", func() bool {
		d := w.deployments("staging")
		return len(d) == 1 && rs.runHolder() == dying.srv.identity && w.sim.PendingFaults() == 0
	})

	// While it runs, the other replica refuses and says where it runs.
	rs.front.pin(pr, 1)
	w.command(pr, "alice", "/apply staging")
	w.reply(pr, "an apply of staging is running on replica "+dying.srv.identity+fmt.Sprintf(" (#%d at %s)", pr, w.head(pr)[:7]))

	dying.kill()
	killed := time.Now()
	w.eventually("the dead replica's run lease to expire", func() bool { return rs.runHolder() == "" })
	expired := time.Since(killed)
	w.eventually("the survivor to lead", func() bool { return rs.leader() == survivor.srv.identity })
	t.Logf("after the kill: run lease expired in %s, leadership moved in %s", expired.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
	if expired > 2*replicaLease {
		t.Errorf("run lease took %s to expire, want at most about %s", expired, replicaLease)
	}
	if w.configMap(w.staging, "slow") != nil {
		t.Fatal("the dying replica applied although GitHub held it before it sent anything")
	}

	// Nothing reached the cluster, so the reviewed plan still stands: the
	// pull request runs /apply again and the survivor applies it.
	w.command(pr, "alice", "/apply staging")
	recs := w.settled("staging", 2)
	// The new leader's resync finds no replica running the dead one's apply
	// and completes its record as interrupted.
	w.eventually("the dead replica's Deployment record completed as interrupted", func() bool {
		d := w.deployments("staging")[0]
		return d.last != nil && d.last.GetState() == "error" && strings.Contains(d.last.GetDescription(), "interrupted")
	})
	if w.configMap(w.staging, "slow") == nil {
		t.Error("the survivor's apply did not create the ConfigMap")
	}
	if got := strings.Join(recs[1].states, ","); got != "in_progress,success" {
		t.Errorf("the survivor's Deployment record: %s (%s)", got, recs[1].last.GetDescription())
	}
	w.eventually("the outcome in the sticky comment", func() bool {
		c := w.stickyComments(pr)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "/apply by @alice") && strings.Contains(c[0].GetBody(), "✅")
	})
}

// logConversation logs slipway's comments on pr after a failure.
func (w *world) logConversation(pr int) {
	if !w.t.Failed() {
		return
	}
	for _, c := range w.sim.Comments(w.repo, pr) {
		w.t.Logf("comment by %s:\n%s", c.GetUser().GetLogin(), c.GetBody())
	}
	for _, d := range w.deployments("staging") {
		w.t.Logf("deployment %d of %s: %v (%s)", d.d.GetID(), d.d.GetRef(), d.states, d.last.GetDescription())
	}
}

// front is the test's load balancer: each webhook goes to one live replica,
// in turn, except that a pull request's comments go to the replica pinned
// for it.
type front struct {
	mu       sync.Mutex
	replicas []*replica
	next     int
	pins     map[int]int // pull request → replica index
}

func (f *front) add(r *replica) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replicas = append(f.replicas, r)
}

func (f *front) pin(pr, replica int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pins[pr] = replica
}

func (f *front) pick(event string, body []byte) *replica {
	f.mu.Lock()
	defer f.mu.Unlock()
	if event == "issue_comment" {
		var p struct {
			Issue struct{ Number int } `json:"issue"`
		}
		if json.Unmarshal(body, &p) == nil {
			if i, ok := f.pins[p.Issue.Number]; ok && !f.replicas[i].dead.Load() {
				return f.replicas[i]
			}
		}
	}
	for range f.replicas {
		r := f.replicas[f.next%len(f.replicas)]
		f.next++
		if !r.dead.Load() {
			return r
		}
	}
	return nil
}

func (f *front) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r := f.pick(req.Header.Get("X-GitHub-Event"), body)
	if r == nil {
		http.Error(w, "no live replica", http.StatusServiceUnavailable)
		return
	}
	out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, r.hook, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out.Header = req.Header.Clone()
	res, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// cutProxy forwards TCP connections to target until cut; then it drops
// every connection and refuses new ones.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	isCut  bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(down net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		down.Close()
		return
	}
	if !p.track(down, up) {
		return
	}
	go func() { _, _ = io.Copy(up, down); up.Close() }()
	_, _ = io.Copy(down, up)
	down.Close()
}

func (p *cutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		if p.isCut {
			c.Close()
			continue
		}
		p.conns[c] = true
	}
	return !p.isCut
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
}

// kubeconfigVia is the test cluster's kubeconfig with its server reached
// through addr.
func kubeconfigVia(t *testing.T, env *testenv.Env, addr string) string {
	t.Helper()
	kc, err := clientcmd.Load(env.KubeconfigBytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + addr
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// quietAfterTest logs to the test until closed, then discards: a killed
// replica's goroutines may still log after the test has ended.
type quietAfterTest struct {
	t      *testing.T
	mu     sync.Mutex
	closed bool
}

func (q *quietAfterTest) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (q *quietAfterTest) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
}
