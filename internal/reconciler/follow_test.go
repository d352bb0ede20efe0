package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// script is a Reconciler that reports one observation after another (the
// last one from then on).
type script struct {
	requestErr error
	requested  []string
	steps      []Observation
	observed   int
}

func (s *script) Object() string { return "Flux Kustomization flux-system/apps" }

func (s *script) PlanMarks(context.Context) (plan.Marks, error) { return plan.Marks{}, nil }

func (s *script) Request(_ context.Context, commit string) (string, error) {
	s.requested = append(s.requested, commit)
	return "token", s.requestErr
}

func (s *script) Observe(context.Context, string) (Observation, error) {
	o := s.steps[min(s.observed, len(s.steps)-1)]
	s.observed++
	return o, nil
}

func TestFollow(t *testing.T) {
	fast := FollowOptions{Wait: 300 * time.Millisecond, Poll: time.Millisecond}
	newer := FollowOptions{Wait: fast.Wait, Poll: fast.Poll, Includes: func(_ context.Context, rev string) (bool, error) { return rev == commitB, nil }}
	tests := []struct {
		name  string
		r     *script
		opts  FollowOptions
		state string
		msg   string
	}{
		{"applied after a while", &script{steps: []Observation{{Applied: "0000000"}, {Attempted: commitA}, {Applied: commitA, Message: "Applied revision: main@sha1:" + commitA}}},
			fast, "success", "Flux Kustomization flux-system/apps applied 1111111: Applied revision"},
		{"rejected", &script{steps: []Observation{{Applied: "0000000"}, {Applied: "0000000", Attempted: commitA, Failed: true, Message: "Deployment/shop/web dry-run failed: spec.replicas: Invalid value"}}},
			fast, "failure", "failed at 1111111: Deployment/shop/web dry-run failed"},
		{"an older failure is not this commit's", &script{steps: []Observation{{Attempted: "0000000", Failed: true, Message: "old"}}},
			fast, "error", "did not report 1111111 applied within 300ms; last: attempted 0000000; old"},
		{"a newer commit that includes it", &script{steps: []Observation{{Applied: commitB}}},
			newer, "success", "applied 2222222, which includes 1111111"},
		{"a newer commit, unknown descent", &script{steps: []Observation{{Applied: commitB}}},
			fast, "error", "did not report 1111111 applied"},
		{"request refused", &script{requestErr: errors.New("deploys from x, not from acme/shop"), steps: []Observation{{}}},
			fast, "error", "not from acme/shop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Follow(context.Background(), tt.r, commitA, tt.opts)
			if got.State != tt.state || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("got %s %q\nwant %s containing %q", got.State, got.Message, tt.state, tt.msg)
			}
			if len(tt.r.requested) != 1 || tt.r.requested[0] != commitA {
				t.Errorf("requested %v", tt.r.requested)
			}
			if tt.r.requestErr != nil && tt.r.observed != 0 {
				t.Error("observed after a refused request")
			}
		})
	}
}

func TestRepoOf(t *testing.T) {
	for url, want := range map[string]string{
		"https://github.com/acme/shop.git":       "acme/shop",
		"https://github.com/Acme/Shop":           "acme/shop",
		"http://127.0.0.1:8080/acme/shop.git":    "acme/shop",
		"ssh://git@github.com/acme/shop.git":     "acme/shop",
		"git@github.com:acme/shop.git":           "acme/shop",
		"https://ghe.example.com/api/acme/shop/": "acme/shop",
		"https://github.com/shop":                "",
		"shop":                                   "",
		"":                                       "",
	} {
		if got := repoOf(url); got != want {
			t.Errorf("repoOf(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestMarks(t *testing.T) {
	m := Marks(fluxEnv())
	if m.FieldManager != "kustomize-controller" || m.Labels["kustomize.toolkit.fluxcd.io/name"] != "apps" || m.Labels["kustomize.toolkit.fluxcd.io/namespace"] != "flux-system" {
		t.Errorf("flux marks %+v", m)
	}
	a := Marks(argoEnv())
	if a.FieldManager != "argocd-controller" || a.Annotations == nil {
		t.Fatalf("argo marks %+v", a)
	}
	if got := a.Annotations(plan.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"})[argoTrackingID]; got != "shop-prod:apps/Deployment:shop/web" {
		t.Errorf("tracking id %q", got)
	}
	if m := Marks(&repoconfig.Environment{Name: "x"}); m.FieldManager != "" || m.Labels != nil {
		t.Errorf("marks of an environment slipway applies: %+v", m)
	}
}
