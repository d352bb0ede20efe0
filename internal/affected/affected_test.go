package affected

import (
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

func TestAffected(t *testing.T) {
	cfg, err := repoconfig.Parse(repoconfig.FileName, []byte(`version: 1
environments:
  - name: a
    path: deploy/a/
    cluster: c
  - name: b
    path: ./deploy/b
    cluster: c
  - name: root
    path: .
    cluster: c
`))
	if err != nil {
		t.Fatal(err)
	}
	noRoot := &repoconfig.Config{File: repoconfig.File{Environments: cfg.Environments[:2]}}
	base := map[string][]string{"a": {"deploy/a/k.yaml", "shared/x.yaml"}, "b": {"deploy/b/k.yaml"}}
	head := map[string][]string{"a": {"deploy/a/k.yaml"}, "b": {"deploy/b/k.yaml", "shared/y.yaml"}}

	tests := []struct {
		name     string
		cfg      *repoconfig.Config
		changed  []string
		base     map[string][]string
		head     map[string][]string
		affected []string
	}{
		{"nothing changed", noRoot, nil, base, head, nil},
		{"a root path takes every change", cfg, []string{"README.md"}, base, head, []string{"root"}},
		{"config order, not change order", cfg, []string{"deploy/b/k.yaml", "deploy/a/k.yaml"}, base, head, []string{"a", "b", "root"}},
		{"path matches whole directories", noRoot, []string{"deploy/a2/k.yaml", "deploy/b.yaml"}, base, head, nil},
		{"paths are cleaned", noRoot, []string{"deploy/a/new.yaml", "deploy/b/new.yaml"}, nil, nil, []string{"a", "b"}},
		{"read only at the base", noRoot, []string{"shared/x.yaml"}, base, head, []string{"a"}},
		{"read only at the head", noRoot, []string{"shared/y.yaml"}, base, head, []string{"b"}},
		{"failed on both sides, path still counts", noRoot, []string{"deploy/b/k.yaml", "shared/x.yaml"}, nil, nil, []string{"b"}},
		// A change that breaks a render (or pushes it past a limit) cannot
		// hide the files it touches: the environment is planned, and fails.
		{"rendered at the base, failed at the head", noRoot, []string{"shared/z.yaml"}, base, map[string][]string{"b": head["b"]}, []string{"a"}},
		{"failed at the head but nothing changed", noRoot, nil, base, map[string][]string{"b": head["b"]}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Environments(tt.cfg, tt.changed, tt.base, tt.head); !slices.Equal(got, tt.affected) {
				t.Errorf("Affected = %q, want %q", got, tt.affected)
			}
		})
	}
}
