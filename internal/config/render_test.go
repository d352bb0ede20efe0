package config

import (
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/renderproc"
)

func TestRenderLimits(t *testing.T) {
	good := "github:\n  app:\n    integration_id: 7\n    webhook_secret: s3cret\n    private_key_path: " + writeKey(t) + "\n"
	tests := []struct {
		name    string
		yaml    string
		env     []string
		want    renderproc.Limits
		wantErr []string
	}{
		{name: "defaults", yaml: good, want: renderproc.DefaultLimits()},
		{name: "from the file", yaml: good + "render:\n  timeout: 90s\n  max_memory: 1Gi\n  max_objects: 20000\n  max_output: 128Mi\n",
			want: renderproc.Limits{Timeout: 90 * time.Second, MaxMemory: 1 << 30, MaxObjects: 20000, MaxOutput: 128 << 20}},
		{name: "decimal and plain sizes", yaml: good + "render:\n  max_memory: 600M\n  max_output: 2097152\n",
			want: renderproc.Limits{Timeout: time.Minute, MaxMemory: 600e6, MaxObjects: 5000, MaxOutput: 2 << 20}},
		{name: "from the environment", yaml: good + "render:\n  timeout: 90s\n",
			env:  []string{"SLIPWAY_RENDER_TIMEOUT=2m", "SLIPWAY_RENDER_MAX_MEMORY=256Mi", "SLIPWAY_RENDER_MAX_OBJECTS=100", "SLIPWAY_RENDER_MAX_OUTPUT=8Mi"},
			want: renderproc.Limits{Timeout: 2 * time.Minute, MaxMemory: 256 << 20, MaxObjects: 100, MaxOutput: 8 << 20}},
		{name: "not a size", yaml: good + "render:\n  max_memory: lots\n", wantErr: []string{`slipway.yaml:7: render.max_memory: expected a size like 512Mi or 1Gi, got "lots"`}},
		{name: "negative size", yaml: good, env: []string{"SLIPWAY_RENDER_MAX_OUTPUT=-1Mi"}, wantErr: []string{"environment variable SLIPWAY_RENDER_MAX_OUTPUT: expected a size"}},
		{name: "too small", yaml: good + "render:\n  timeout: 0s\n  max_memory: 10Mi\n  max_objects: 0\n  max_output: 1Ki\n", wantErr: []string{
			"slipway.yaml:7: render.timeout: must be at least 1s, got 0s",
			"slipway.yaml:8: render.max_memory: must be at least 64Mi, got 10Mi",
			"slipway.yaml:9: render.max_objects: must be at least 1, got 0",
			"slipway.yaml:10: render.max_output: must be at least 1Mi, got 1Ki",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("slipway.yaml", []byte(tt.yaml), tt.env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error; render config %+v", c.Render)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error\n%s\ndoes not contain\n%s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := c.RenderLimits(); got != tt.want {
				t.Errorf("limits %+v, want %+v", got, tt.want)
			}
		})
	}
}
