package render

import "testing"

func TestLocateYAMLError(t *testing.T) {
	msg := "accumulating resources: accumulating resources from 'extra.yaml': MalformedYAMLError: yaml: line 5: did not find expected node content in File: extra.yaml"
	tests := []struct {
		name     string
		msg      string
		read     []string
		wantFile string
		wantLine int
	}{
		{"one file of that name", msg, []string{"deploy/staging/kustomization.yaml", "deploy/staging/extra.yaml"}, "deploy/staging/extra.yaml", 5},
		{"ambiguous name keeps kustomize's wording", msg, []string{"a/extra.yaml", "b/extra.yaml"}, "", 0},
		{"file not read", msg, []string{"deploy/staging/kustomization.yaml"}, "", 0},
		{"another error", "accumulating resources: missing", []string{"x"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := locateYAMLError(tt.msg, tt.read)
			if tt.wantFile == "" {
				if got != nil {
					t.Fatalf("located %v", got)
				}
				return
			}
			if got == nil || got.File != tt.wantFile || got.Line != tt.wantLine {
				t.Fatalf("got %v, want %s:%d", got, tt.wantFile, tt.wantLine)
			}
		})
	}
}
