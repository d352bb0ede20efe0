package renderproc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/render"
)

// configMaps is a plain manifest stream of n ConfigMaps named prefix-i,
// each with a value of pad bytes.
func configMaps(prefix string, n, pad int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%d\ndata:\n  k: %q\n", prefix, i, strings.Repeat("x", pad))
	}
	return sb.String()
}

// wideConfigMap is a ConfigMap of keys data keys: yaml.v3 checks them for
// duplicates pair by pair.
func wideConfigMap(keys int) string {
	var sb strings.Builder
	sb.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wide\ndata:\n")
	for i := range keys {
		fmt.Fprintf(&sb, "  k%d: v\n", i)
	}
	return sb.String()
}

// Small plain manifests are parsed in this process, with the result the
// child gives; anything that builds manifests (a kustomization, a chart),
// plain manifests past inProcessMax, and a mapping whose duplicate check
// would cost more than a moment, still go to the bounded child.
func TestWhereItRenders(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		child bool
	}{
		{"small plain manifests", map[string]string{"cms.yaml": configMaps("a", 50, 10), "more.yml": configMaps("b", 3, 10)}, false},
		{"plain manifests past inProcessMax", map[string]string{"a.yaml": configMaps("a", 40, 8<<10), "b.yaml": configMaps("b", 40, 8<<10)}, true},
		{"a mapping wider than parsed here", map[string]string{"wide.yaml": wideConfigMap(5000)}, true},
		{"a kustomization", map[string]string{"kustomization.yaml": "resources: [cms.yaml]\n", "cms.yaml": configMaps("a", 5, 10)}, true},
		{"a chart", map[string]string{"Chart.yaml": chartYAML, "templates/cms.yaml": configMaps("a", 5, 10)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			want, err := render.Render(context.Background(), root, appEnv, render.Options{Scope: render.Offline})
			if err != nil {
				t.Fatal(err)
			}
			stop := watchChildren(t)
			got, err := Render(context.Background(), root, appEnv, render.Options{Scope: render.Offline}, DefaultLimits())
			group := stop()
			if err != nil {
				t.Fatal(err)
			}
			if child := group != 0; child != tt.child {
				t.Errorf("rendered in a child process: %v, want %v", child, tt.child)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("result differs from render.Render's:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// A pull request's plain manifests parsed in the server's own process are
// held to the same bounds as the child's: a YAML bomb well under
// inProcessMax is refused, naming the file, in bounded time and memory;
// too many objects stop at render.max_objects.
func TestHostilePlainManifestsHere(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n")
	bomb.WriteString("l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&bomb, "l%d: &a%d [*a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d]\n", i, i, i-1)
	}
	if bomb.Len() > inProcessMax {
		t.Fatalf("the bomb (%d bytes) would not be parsed here", bomb.Len())
	}
	root := writeTree(t, map[string]string{"bomb.yaml": bomb.String()})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	stop := watchChildren(t)
	_, err := Render(context.Background(), root, appEnv, render.Options{}, testLimits)
	group := stop()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	var located *render.Error
	if !errors.As(err, &located) || located.File != "deploy/app/bomb.yaml" || !strings.Contains(err.Error(), "alias") {
		t.Errorf("err = %v; want an error at deploy/app/bomb.yaml about aliases", err)
	}
	if group != 0 {
		t.Error("the bomb went to a child process; this test is about the parse in this one")
	}
	if took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	if alloc := (after.TotalAlloc - before.TotalAlloc) >> 20; alloc > 64 {
		t.Errorf("allocated %d MiB", alloc)
	}

	root = writeTree(t, map[string]string{"many.yaml": configMaps("a", 250, 1)})
	_, err = Render(context.Background(), root, appEnv, render.Options{}, testLimits)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != KeyMaxObjects || le.Objects != 250 {
		t.Errorf("err = %v; want a LimitError for %s with 250 objects", err, KeyMaxObjects)
	}
}
