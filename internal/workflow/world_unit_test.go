package workflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/gh/ghtest"
	"github.com/slipwayhq/slipway/internal/gh/source"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/lock"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/throttle"
)

// The unit world: acme/shop on a ghtest.Fake, trees served from files
// written to t.TempDir(), a bolt lock store and a scripted cluster. No
// API server, no simulator, no HTTP.

const (
	unitBot = "slipway[bot]"
	unitApp = int64(4242)
)

var unitRepo = gh.Repo{Owner: "acme", Name: "shop"}

// treeSource is a Source with one tree per commit and the changed files of
// each pull request; the config is .slipway.yaml in the commit's tree.
type treeSource struct {
	trees   map[string]string // commit -> directory
	changed map[int][]string
}

func (s *treeSource) Tree(_ context.Context, _, _, sha string) (string, func(), error) {
	dir, ok := s.trees[sha]
	if !ok {
		return "", nil, fmt.Errorf("no tree for commit %s in this test", sha)
	}
	return dir, func() {}, nil
}

func (s *treeSource) Config(_ context.Context, _, _, ref string) (*repoconfig.Config, error) {
	dir, ok := s.trees[ref]
	if !ok {
		return nil, fmt.Errorf("no tree for %s in this test", ref)
	}
	data, err := os.ReadFile(filepath.Join(dir, repoconfig.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, source.ErrNoConfig
	}
	if err != nil {
		return nil, err
	}
	return repoconfig.Parse(repoconfig.FileName, data)
}

func (s *treeSource) ChangedFiles(_ context.Context, _, _ string, number int) ([]string, error) {
	return s.changed[number], nil
}

// scriptedCluster plans every rendered object as a create, with a digest
// that depends only on the environment and commit (so a re-plan matches
// the reviewed one), and applies by recording the environment and
// failing where fail says.
type scriptedCluster struct {
	mu      sync.Mutex
	fail    map[string]string // environment -> apply error
	applied []string          // environments, in apply order
}

func (c *scriptedCluster) Scope() render.Scoper { return nil }

func (c *scriptedCluster) Compute(ctx context.Context, env *repoconfig.Environment, b plan.Basis, r *render.Result) (*plan.Plan, error) {
	p, _, err := c.ComputeWithObjects(ctx, env, b, r)
	return p, err
}

func (c *scriptedCluster) ComputeWithObjects(_ context.Context, env *repoconfig.Environment, b plan.Basis, r *render.Result) (*plan.Plan, []*unstructured.Unstructured, error) {
	p := &plan.Plan{Repository: b.Repository, Environment: env.Name, Commit: b.Commit, Digest: "sha256:" + env.Name + "-" + short(b.Commit)}
	var objs []*unstructured.Unstructured
	for _, o := range r.Objects {
		p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: o.Object.GetKind(), Name: o.Object.GetName()}, Action: plan.Create})
		objs = append(objs, o.Object)
	}
	return p, objs, nil
}

func (c *scriptedCluster) Apply(_ context.Context, env *repoconfig.Environment, p *plan.Plan, _ []*unstructured.Unstructured) *apply.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied = append(c.applied, env.Name)
	return &apply.Result{Env: env.Name, Digest: p.Digest, Err: c.fail[env.Name]}
}

func (c *scriptedCluster) appliedEnvs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.applied...)
}

type unitWorld struct {
	t       *testing.T
	gh      *ghtest.Fake
	src     *treeSource
	cluster *scriptedCluster
	locks   lock.Store
	s       *Session
}

func newUnitWorld(t *testing.T) *unitWorld {
	t.Helper()
	store, err := lock.OpenBolt(filepath.Join(t.TempDir(), "locks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := &unitWorld{
		t:       t,
		gh:      ghtest.New(unitBot, unitApp),
		src:     &treeSource{trees: map[string]string{}, changed: map[int][]string{}},
		cluster: &scriptedCluster{fail: map[string]string{}},
		locks:   store,
	}
	w.s = &Session{
		Runner: &Runner{
			Bot: unitBot, AppID: unitApp,
			Targets:   func(string) kube.Targets { return oneTarget{w.cluster} },
			Locks:     store,
			Runs:      lock.NewLocal("unit"),
			Rendered:  NewFilesCache(16),
			Outsiders: throttle.New(OutsiderReplyWindow, OutsiderReplyKeys),
		},
		GitHub: w.gh,
		Source: w.src,
		Repo:   unitRepo,
	}
	return w
}

// commit writes files as the tree of sha.
func (w *unitWorld) commit(sha string, files map[string]string) {
	w.t.Helper()
	dir := w.t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	w.src.trees[sha] = dir
}

// with is files with some replaced or added.
func with(files map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  tag: " + value + "\n"
}

// openUnitPR opens #n from a branch of acme/shop at head on main at base,
// changing the files listed.
// mergedPR makes pull request #1 (alice's, head head1SHA) merged as
// mergeSHA on top of baseSHA, the default branch's head now, changing the
// files changed from base to merged.
func (w *unitWorld) mergedPR(base, merged map[string]string, changed []string) {
	w.commit(baseSHA, base)
	w.commit(mergeSHA, merged)
	w.gh.SetDefaultBranch("main", mergeSHA)
	w.gh.SetParent(mergeSHA, baseSHA)
	w.gh.SetCompare(baseSHA, mergeSHA, gh.Comparison{Status: "ahead", Files: changed, Complete: true})
	w.gh.SetPR(gh.PR{Number: 1, State: "closed", Merged: true, Author: "alice", HeadSHA: head1SHA, HeadRepo: unitRepo.String(),
		BaseSHA: baseSHA, BaseRef: "main", MergeCommitSHA: mergeSHA})
	w.src.changed[1] = changed
}

func (w *unitWorld) openUnitPR(n int, author, base, head string, changed ...string) gh.PR {
	pr := gh.PR{Number: n, State: "open", Author: author, HeadSHA: head, HeadRepo: unitRepo.String(), BaseSHA: base, BaseRef: "main"}
	w.gh.SetPR(pr)
	w.src.changed[n] = changed
	return pr
}

// runNamed is the newest own check run called name at sha.
func (w *unitWorld) runNamed(sha, name string) (gh.CheckRunState, bool) {
	runs, _ := w.gh.CheckRuns(context.Background(), unitRepo, sha, unitApp)
	return latestRun(runs, name)
}

// botSays fails the test unless the bot's comments on #n, joined, contain want.
func (w *unitWorld) botSays(n int, want string) {
	w.t.Helper()
	var bodies []string
	for _, c := range w.gh.BotComments(n) {
		bodies = append(bodies, c.Body)
	}
	if all := strings.Join(bodies, "\n---\n"); !strings.Contains(all, want) {
		w.t.Errorf("the bot's comments on #%d do not say %q:\n%s", n, want, all)
	}
}
