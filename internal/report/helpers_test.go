package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", name, got)
	}
}

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: ghcr.io/acme/web:1.4.2
        name: web
`

const configMapBefore = `apiVersion: v1
data:
  LOG_LEVEL: info
  MAX_CONNECTIONS: "100"
  REGION: eu-west-1
  TIMEOUT: 30s
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
`

const serviceYAML = `apiVersion: v1
kind: Service
metadata:
  name: legacy
  namespace: shop
spec:
  ports:
  - port: 80
`

// smallPlans is a three-environment plan with one of everything.
func smallPlans() []*plan.Plan {
	staging := &plan.Plan{
		Environment: "staging",
		Commit:      "3f9c2a17e4b5d6c7a8b9c0d1e2f3a4b5c6d7e8f9",
		Digest:      "sha256:9b1e4f2a7c3d5e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
		Changes: []plan.Change{
			{Ref: plan.Ref{Version: "v1", Kind: "Namespace", Name: "shop"}, Action: plan.Unchanged, File: "deploy/staging/namespace.yaml", Line: 1},
			{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}, Action: plan.Update,
				File: "deploy/staging/web.yaml", Line: 1,
				Before: configMapBefore,
				After:  strings.Replace(configMapBefore, "LOG_LEVEL: info", "LOG_LEVEL: debug", 1)},
			{Ref: plan.Ref{Version: "v1", Kind: "Service", Namespace: "shop", Name: "legacy"}, Action: plan.Delete,
				Before: serviceYAML, Message: "pruned: no longer in deploy/staging"},
			{Ref: plan.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Action: plan.Create,
				File: "deploy/staging/web.yaml", Line: 14, After: deploymentYAML},
			{Ref: plan.Ref{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress", Namespace: "shop", Name: "web"}, Action: plan.Error,
				File: "deploy/staging/ingress.yaml", Line: 3,
				Message: `admission webhook "validate.nginx.ingress.kubernetes.io" denied the request: host "shop.example.com" and path "/" is already defined in ingress shop/storefront`},
		},
		Skipped: []plan.Change{
			{Ref: plan.Ref{Version: "v1", Kind: "Pod", Namespace: "shop", Name: "smoke-test"}, Action: plan.Unchanged, File: "deploy/staging/smoke.yaml", Line: 1,
				Message: "Helm test hook: slipway never runs test hooks"},
		},
		Hooks: []plan.Hook{
			{Ref: plan.Ref{Group: "batch", Version: "v1", Kind: "Job", Namespace: "shop", Name: "db-migrate"}, File: "deploy/staging/migrate.yaml",
				Phase: plan.HookPre, Event: "pre-upgrade", Weight: -5, DeletePolicies: []string{"before-hook-creation", "hook-succeeded"}},
			{Ref: plan.Ref{Group: "batch", Version: "v1", Kind: "Job", Namespace: "shop", Name: "notify"}, File: "deploy/staging/notify.yaml",
				Phase: plan.HookPost, Event: "post-upgrade", DeletePolicies: []string{"before-hook-creation"}},
		},
	}
	production := &plan.Plan{
		Environment: "production",
		Commit:      staging.Commit,
		Digest:      "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
	}
	for i := range 40 {
		production.Changes = append(production.Changes, plan.Change{
			Ref:    plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: fmt.Sprintf("cm-%02d", i)},
			Action: plan.Unchanged,
		})
	}
	broken := &plan.Plan{
		Environment: "canary",
		Commit:      staging.Commit,
		Err:         "kustomize build deploy/canary: accumulating resources: open deploy/canary/missing.yaml: no such file or directory",
	}
	return []*plan.Plan{staging, production, broken}
}

// bigPlan has n changed objects (creates, updates, deletes in turn), each
// with a diff of several lines, plus some unchanged ones.
func bigPlan(env string, n int) *plan.Plan {
	p := &plan.Plan{Environment: env, Commit: "0123456789abcdef0123456789abcdef01234567", Digest: "sha256:" + strings.Repeat("ab", 32)}
	for i := range n {
		name := fmt.Sprintf("app-%05d", i)
		doc := func(image string) string {
			return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - image: ghcr.io/acme/%s:%s\n        name: app\n", name, env, name, image)
		}
		ch := plan.Change{Ref: plan.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: env, Name: name}, File: "deploy/" + env + "/apps.yaml", Line: 1 + i*14}
		switch i % 3 {
		case 0:
			ch.Action, ch.After = plan.Create, doc("1.0.0")
		case 1:
			ch.Action, ch.Before, ch.After = plan.Update, doc("1.0.0"), doc("1.1.0")
		case 2:
			// Deleted objects are no longer in the repository.
			ch.Action, ch.Before, ch.File, ch.Line = plan.Delete, doc("1.0.0"), "", 0
		}
		p.Changes = append(p.Changes, ch)
	}
	for i := range 25 {
		p.Changes = append(p.Changes, plan.Change{Ref: plan.Ref{Version: "v1", Kind: "Secret", Namespace: env, Name: fmt.Sprintf("s-%d", i)}, Action: plan.Unchanged})
	}
	return p
}

var (
	fenceOpen    = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	detailsOpen  = regexp.MustCompile(`<details[ >]`)
	detailsClose = regexp.MustCompile(`</details>`)
)

// checkWellFormed fails if md leaves a code fence or a <details> open, the
// mistakes that would swallow the rest of a GitHub comment. Fences inside
// blockquotes are checked too.
func checkWellFormed(t *testing.T, md string) {
	t.Helper()
	var open string // the fence that is open, if any
	details := 0
	for i, line := range strings.Split(md, "\n") {
		for strings.HasPrefix(line, ">") {
			line = strings.TrimPrefix(strings.TrimPrefix(line, ">"), " ")
		}
		if open != "" {
			trimmed := strings.TrimLeft(line, " ")
			if len(line)-len(trimmed) <= 3 && strings.HasPrefix(trimmed, open) && strings.Trim(trimmed, open[:1]+" ") == "" {
				open = ""
			}
			continue
		}
		if m := fenceOpen.FindStringSubmatch(line); m != nil {
			open = m[1]
			continue
		}
		details += len(detailsOpen.FindAllString(line, -1)) - len(detailsClose.FindAllString(line, -1))
		if details < 0 {
			t.Fatalf("line %d closes a <details> that is not open", i+1)
		}
	}
	if open != "" {
		t.Errorf("a %s fence is never closed", open)
	}
	if details != 0 {
		t.Errorf("%d <details> left open", details)
	}
}
