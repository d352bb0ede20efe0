package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/config"
)

// everySecond makes the leader's loops run every second.
func everySecond(cfg *config.Config) {
	cfg.Server.ResyncInterval = config.Duration(time.Second)
	cfg.Server.DriftInterval = config.Duration(time.Second)
}

// installationClient is go-github as the App's installation, for a test
// that must leave records the way a crashed slipway would.
func (w *world) installationClient() *github.Client {
	w.t.Helper()
	token, _, err := w.sim.Token(w.inst)
	if err != nil {
		w.t.Fatal(err)
	}
	gh, err := github.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(w.sim.V3URL(), w.sim.V3URL())
	if err != nil {
		w.t.Fatal(err)
	}
	return gh
}

func TestResyncPlansWhatNoWebhookDid(t *testing.T) {
	w := newWorldWith(t, 2, (*world).shopFiles, everySecond)

	// The pull request's webhooks are lost on the way.
	w.sim.Flush()
	before := len(w.sim.Deliveries())
	w.sim.SetWebhookURL("")
	pr := w.openPR("lost", "alice", map[string]string{"deploy/base/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\ndata:\n  color: green\n"})
	w.sim.Flush()
	for _, d := range w.sim.Deliveries()[before:] {
		if d.Sent {
			t.Fatalf("a %s webhook reached slipway; the test needs it lost", d.Event)
		}
	}
	w.completed(w.head(pr), "slipway/plan: staging")
	w.completed(w.head(pr), "slipway/plan: production")
	w.eventually("the sticky comment", func() bool {
		c := w.stickyComments(pr)
		return len(c) == 1 && strings.Contains(c[0].GetBody(), "color")
	})
	// Planned once: later passes see the head planned and leave it alone.
	time.Sleep(3 * time.Second)
	if n := len(w.checkRuns(w.head(pr), "slipway/plan: staging")); n != 1 {
		t.Errorf("%d staging plans of one head; resync must plan a head once", n)
	}
}

func TestResyncFinishesInterruptedWork(t *testing.T) {
	w := newWorldWith(t, 2, (*world).shopFiles)
	pr := w.openPR("crash", "alice", map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: \"2\"\n"})
	head := w.head(pr)
	w.completed(head, "slipway/plan: staging")

	// What a slipway killed mid-apply leaves behind: an apply check run and
	// a Deployment, both in progress.
	ctx := context.Background()
	gh := w.installationClient()
	run, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "shop", github.CreateCheckRunOptions{
		Name: "slipway/apply: staging", HeadSHA: head, Status: github.String("in_progress"),
		StartedAt: &github.Timestamp{Time: time.Now().Add(-time.Minute)},
	})
	if err != nil {
		t.Fatal(err)
	}
	deploy := func(tool string) *github.Deployment {
		d, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "shop", &github.DeploymentRequest{
			Ref: github.String(head), Environment: github.String("staging"), AutoMerge: github.Bool(false), RequiredContexts: &[]string{},
			Payload: map[string]any{"tool": tool, "pull_request": pr},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, "acme", "shop", d.GetID(), &github.DeploymentStatusRequest{State: github.String("in_progress")}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	dep := deploy("slipway")
	// Another tool's rollout in progress is not slipway's to finish.
	other := deploy("another-deployer")
	// A slipway that starts after the crash completes them as interrupted.
	cfg := *w.cfg
	cfg.Store.Path = filepath.Join(t.TempDir(), "restarted.db")
	startServer(t, &cfg)
	w.eventually("the deployment completed as interrupted", func() bool {
		st := w.sim.DeploymentStatuses(w.repo, dep.GetID())
		return len(st) == 2 && st[1].GetState() == "error" && strings.Contains(st[1].GetDescription(), "interrupted")
	})
	defer func() {
		if got := w.sim.DeploymentStatuses(w.repo, other.GetID()); len(got) != 1 {
			t.Errorf("another tool's deployment got %d statuses; slipway must leave it alone", len(got))
		}
	}()
	w.eventually("the apply check run completed as interrupted", func() bool {
		for _, cr := range w.checkRuns(head, "slipway/apply: staging") {
			if cr.GetID() == run.GetID() {
				return cr.GetStatus() == "completed" && cr.GetConclusion() == "failure" &&
					strings.Contains(cr.GetOutput().GetSummary(), "/apply staging")
			}
		}
		return false
	})
}

// driftFiles has one environment of each drift mode.
func (w *world) driftFiles() map[string]string {
	return map[string]string{
		".slipway.yaml": fmt.Sprintf(`version: 1
environments:
  - name: staging
    path: deploy/staging
    cluster: test
    namespace: %s
    drift: reconcile
    wait: 0
  - name: production
    path: deploy/production
    cluster: test
    namespace: %s
    drift: report
  - name: quiet
    path: deploy/quiet
    cluster: test
    namespace: %s
    drift: "off"
`, w.staging, w.prod, w.prod),
		"deploy/staging/app.yaml":    configMapYAML("app", "1"),
		"deploy/production/app.yaml": configMapYAML("app", "1"),
		"deploy/quiet/other.yaml":    configMapYAML("other", "1"),
	}
}

func TestDrift(t *testing.T) {
	w := newWorldWith(t, 2, (*world).driftFiles, func(cfg *config.Config) {
		cfg.Server.DriftInterval = config.Duration(time.Second)
	})
	main := w.sim.Head(w.repo, "main")
	drift := func(env string) *github.CheckRun {
		runs := w.checkRuns(main, "slipway/drift: "+env)
		if len(runs) == 0 {
			return nil
		}
		return runs[0]
	}

	// reconcile: the missing ConfigMap is created, with a Deployment
	// record, and the next pass finds staging in sync.
	recs := w.settled("staging", 1)
	if recs[0].d.GetRef() != main || strings.Join(recs[0].states, ",") != "in_progress,success" || !strings.Contains(recs[0].d.GetDescription(), "drift") {
		t.Errorf("drift deployment: ref %s states %v description %q", recs[0].d.GetRef(), recs[0].states, recs[0].d.GetDescription())
	}
	if w.configMap(w.staging, "app") == nil {
		t.Fatal("reconcile did not create the ConfigMap")
	}
	inSync := func(env string) func() bool {
		return func() bool {
			r := drift(env)
			return r != nil && r.GetConclusion() == "success" && strings.HasPrefix(r.GetOutput().GetTitle(), "In sync")
		}
	}
	w.eventually("staging in sync after the reconcile", inSync("staging"))

	// report: drift is reported with the diff, and nothing is applied.
	w.eventually("production drift reported", func() bool {
		r := drift("production")
		return r != nil && r.GetConclusion() == "failure" && strings.HasPrefix(r.GetOutput().GetTitle(), "Drift:") &&
			strings.Contains(r.GetOutput().GetSummary(), "+ create")
	})
	if w.configMap(w.prod, "app") != nil || len(w.deployments("production")) != 0 {
		t.Error("drift: report applied something")
	}

	// A hand edit in staging is undone by the next pass.
	cm := w.configMap(w.staging, "app")
	cm.Data = map[string]string{"value": "edited by hand"}
	if _, err := w.env.Client().CoreV1().ConfigMaps(w.staging).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.eventually("the hand edit undone", func() bool {
		got := w.configMap(w.staging, "app")
		return got != nil && got.Data["value"] == "1"
	})
	w.settled("staging", 2)
	w.eventually("staging in sync again", inSync("staging"))

	// One check run per environment and commit, edited in place.
	for _, env := range []string{"staging", "production"} {
		if n := len(w.checkRuns(main, "slipway/drift: "+env)); n != 1 {
			t.Errorf("%d drift check runs of %s on one commit; want 1 edited in place", n, env)
		}
	}
	if drift("quiet") != nil {
		t.Error("drift: off was checked")
	}
}
