package render

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestPlain(t *testing.T) {
	res, err := Render(context.Background(), "testdata/plain", env("deploy/app", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by group, kind, namespace, name; nothing from sub/ or README.md.
	want := []string{
		"ConfigMap /first",
		"ConfigMap /from-list-a",
		"ConfigMap /from-list-b",
		"ConfigMap /from-typed-list",
		"Service /web",
		"Deployment /web",
	}
	if got := refs(res.Objects); !slices.Equal(got, want) {
		t.Errorf("objects = %q\nwant      %q", got, want)
	}
	// Each object points at the line where its document (or List item) starts.
	locations := []struct {
		kind, name, file string
		line             int
	}{
		{"ConfigMap", "first", "deploy/app/10-multi.yaml", 2},
		{"Service", "web", "deploy/app/10-multi.yaml", 12},
		{"ConfigMap", "from-list-a", "deploy/app/20-list.yml", 4},
		{"ConfigMap", "from-list-b", "deploy/app/20-list.yml", 8},
		{"ConfigMap", "from-typed-list", "deploy/app/20-list.yml", 16},
		{"Deployment", "web", "deploy/app/30-deployment.json", 1},
	}
	for _, l := range locations {
		o := find(t, res.Objects, l.kind, l.name)
		if o.File != l.file || o.Line != l.line {
			t.Errorf("%s %s at %s:%d, want %s:%d", l.kind, l.name, o.File, o.Line, l.file, l.line)
		}
	}
	// JSON numbers come out as int64, which unstructured helpers expect.
	replicas, _, _ := unstructured.NestedFieldNoCopy(find(t, res.Objects, "Deployment", "web").Object.Object, "spec", "replicas")
	if replicas != int64(2) {
		t.Errorf("spec.replicas = %#v, want int64 2", replicas)
	}
	// A quoted "yes" stays a string.
	if v := find(t, res.Objects, "ConfigMap", "first").Object.Object["data"].(map[string]any)["enabled"]; v != "yes" {
		t.Errorf("data.enabled = %#v, want the string yes", v)
	}
	wantFiles := []string{"deploy/app/10-multi.yaml", "deploy/app/20-list.yml", "deploy/app/30-deployment.json"}
	if !slices.Equal(res.Files, wantFiles) {
		t.Errorf("Files = %q, want %q", res.Files, wantFiles)
	}
}

func TestPlainErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		line    int
		want    string
	}{
		{
			name:    "bad YAML in the second document",
			content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n   labels: x\n",
			line:    10,
			want:    "invalid YAML",
		},
		{
			name:    "no kind",
			content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# the second object\napiVersion: v1\nmetadata:\n  name: b\n",
			line:    7,
			want:    "has no kind",
		},
		{
			name:    "no name",
			content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n",
			line:    1,
			want:    "has no metadata.name",
		},
		{
			name:    "not a mapping",
			content: "- apiVersion: v1\n",
			line:    1,
			want:    "found a list",
		},
		{
			name:    "duplicate key",
			content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nkind: Secret\n",
			line:    5,
			want:    "already defined",
		},
		{
			name:    "duplicate object",
			content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
			line:    6,
			want:    "defined twice; the other is at deploy/app/objects.yaml:1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"deploy/app/objects.yaml": tt.content})
			err := renderError(t, root, env("deploy/app", ""), Options{})
			if err.File != "deploy/app/objects.yaml" || err.Line != tt.line {
				t.Errorf("error at %s:%d, want deploy/app/objects.yaml:%d (%v)", err.File, err.Line, tt.line, err)
			}
			if !strings.Contains(err.Msg, tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestPlainEmptyDirectory(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"deploy/app/notes.txt": "nothing here"})
	res, err := Render(context.Background(), root, env("deploy/app", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 0 || len(res.Files) != 0 {
		t.Errorf("got objects %v, files %v; want none", refs(res.Objects), res.Files)
	}
}

// A symlink that stays inside the repository is fine, and both names count
// as files the render read.
func TestPlainSymlinkInsideRepository(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"shared/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n"})
	symlink(t, "../../shared/cm.yaml", filepath.Join(root, "deploy/app/cm.yaml"))
	res, err := Render(context.Background(), root, env("deploy/app", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(res.Objects); !slices.Equal(got, []string{"ConfigMap /shared"}) {
		t.Errorf("objects = %v", got)
	}
	if want := []string{"deploy/app/cm.yaml", "shared/cm.yaml"}; !slices.Equal(res.Files, want) {
		t.Errorf("Files = %q, want %q", res.Files, want)
	}
}
