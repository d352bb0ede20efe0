package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

const (
	head = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	old  = "0f0e0d0c0b0a09080706050403020100ffeeddcc"
)

var errGitHubDown = errors.New("GET /orgs/org/teams/sre-team/memberships/bob: 502 Bad Gateway")

// The plan published at head in most tests, and when; approved() reviews
// come a minute later.
var (
	digest    = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	published = time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	planned   = PlanState{Current: true, Digest: digest, PublishedAt: published}
)

// fakeDir is a Directory answered from maps. Logins are lower-case keys.
type fakeDir struct {
	perms map[string]string   // login → permission
	teams map[string][]string // "org/team" → member logins
	// author and committer of every commit, by GitHub login
	author, committer string
	err               error // when set, every call fails with it
	calls             int
}

func (d *fakeDir) Permission(_ context.Context, user string) (string, error) {
	d.calls++
	if d.err != nil {
		return "", d.err
	}
	if p, ok := d.perms[strings.ToLower(user)]; ok {
		return p, nil
	}
	return "none", nil
}

func (d *fakeDir) TeamMember(_ context.Context, org, team, user string) (bool, error) {
	d.calls++
	if d.err != nil {
		return false, d.err
	}
	for _, m := range d.teams[org+"/"+team] {
		if strings.EqualFold(m, user) {
			return true, nil
		}
	}
	return false, nil
}

func (d *fakeDir) CommitAuthors(context.Context, string) (string, string, error) {
	d.calls++
	if d.err != nil {
		return "", "", d.err
	}
	return d.author, d.committer, nil
}

// approved is user's approval of sha a minute after the plan was published.
func approved(user, sha string) Review {
	return Review{User: user, State: ReviewApproved, CommitID: sha, SubmittedAt: published.Add(time.Minute)}
}

// parse reads a .slipway.yaml written for a test.
func parse(t *testing.T, yaml string) *repoconfig.Config {
	t.Helper()
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(yaml))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	return cfg
}

// compileOne compiles a config holding one environment "staging" with the
// given policy rules (YAML list items indented for `rules:`).
func compileOne(t *testing.T, rules string) (*repoconfig.Environment, []CompiledRule) {
	t.Helper()
	cfg := parse(t, "version: 1\nenvironments:\n  - name: staging\n    path: deploy\n    cluster: c\n    policy:\n      rules:\n"+rules)
	compiled, err := CompileRules(cfg)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	env, _ := cfg.Environment("staging")
	return env, compiled.For("staging")
}

func object(kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec,
	}}
}

// deployment has one container per image.
func deployment(namespace, name string, images ...string) *unstructured.Unstructured {
	var containers []any
	for i, img := range images {
		containers = append(containers, map[string]any{"name": "c" + string(rune('0'+i)), "image": img})
	}
	obj := object("Deployment", namespace, name, map[string]any{
		"template": map[string]any{"spec": map[string]any{"containers": containers}},
	})
	obj.SetAPIVersion("apps/v1")
	return obj
}

func itemNamed(t *testing.T, res Result, name string) Item {
	t.Helper()
	for _, it := range res.Items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("no item %q in %+v", name, res.Items)
	return Item{}
}

func containsAll(t *testing.T, what, got string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s %q\ndoes not contain %q", what, got, w)
		}
	}
}
