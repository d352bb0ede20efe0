package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

func TestText(t *testing.T) {
	tests := []struct {
		name    string
		color   bool
		want    []string
		notWant []string
	}{
		{"plain", false,
			[]string{
				"staging: +1 ~1 -1, 1 error (1 unchanged)\ncommit 3f9c2a1 · plan sha256:9b1e4f2a7c3d…\n",
				"+ create Deployment shop/web  deploy/staging/web.yaml:14\n    +apiVersion: apps/v1\n",
				"    -  LOG_LEVEL: info\n    +  LOG_LEVEL: debug\n",
				"! error Ingress shop/web  deploy/staging/ingress.yaml:3\n    admission webhook",
				"canary: plan failed\n",
			},
			[]string{"\x1b"}},
		{"color", true,
			[]string{
				"\x1b[1mstaging\x1b[0m: ",
				"\x1b[1m\x1b[32m+ create Deployment shop/web\x1b[0m",
				"    \x1b[32m+apiVersion: apps/v1\x1b[0m\n",
				"    \x1b[31m-  LOG_LEVEL: info\x1b[0m\n",
				"    \x1b[36m@@ -1,6 +1,6 @@\x1b[0m\n",
				"\x1b[1m\x1b[33m~ update ConfigMap shop/web-config\x1b[0m",
			},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Text(&b, smallPlans(), TextOptions{Color: tt.color}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q missing from:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("%q in:\n%s", w, out)
				}
			}
			if !tt.color {
				golden(t, "small.txt", out)
			}
		})
	}
}

func TestTextDefusesControlCharacters(t *testing.T) {
	// A manifest or error message must not retitle the terminal, clear the
	// screen or fake colours.
	p := onePlan(plan.Change{
		Ref:     plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "evil\x1b[2J"},
		Action:  plan.Error,
		Message: "denied\x1b]0;pwned\x07 \u009b31m \x9b",
	})
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := Text(&b, p, TextOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := strings.ReplaceAll(b.String(), "\x1b[0m", "")
		for _, code := range []string{"\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[2m"} {
			out = strings.ReplaceAll(out, code, "")
		}
		if strings.ContainsAny(out, "\x1b\x07\u009b") || strings.Contains(out, "\x9b") {
			t.Errorf("control characters reach the terminal: %q", out)
		}
		if !strings.Contains(out, `evil\x1b[2J`) || !strings.Contains(out, `denied\x1b]0;pwned\a \u009b31m \x9b`) {
			t.Errorf("control characters should be shown escaped: %q", out)
		}
	}
}

func TestTextNoPlans(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, nil, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "Nothing to plan: no environment is affected by this change.\n" {
		t.Errorf("got %q", got)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(nil) {
		t.Error("a file is not a terminal")
	}
}
