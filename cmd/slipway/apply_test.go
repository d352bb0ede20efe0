package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

func exists(t *testing.T, env *testenv.Env, ns, kind, name string) bool {
	t.Helper()
	var err error
	switch kind {
	case "ConfigMap":
		_, err = env.Client().CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	case "Secret":
		_, err = env.Client().CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	default:
		t.Fatalf("kind %s", kind)
	}
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestApplyCommand(t *testing.T) {
	env := testenv.Get(t)
	kc := env.Kubeconfig()

	t.Run("without a terminal it needs --yes", func(t *testing.T) {
		ns := testenv.NewNamespace(t, env)
		p := startSlipway(t, nil, "apply", "dev", "--repo", shopRepo(t, ns), "--kubeconfig", kc)
		if code := p.wait(t, time.Minute); code != exitError {
			t.Fatalf("exit %d", code)
		}
		if !strings.Contains(p.stderr.String(), "pass --yes") {
			t.Errorf("stderr %q does not say what to do", p.stderr)
		}
		if exists(t, env, ns, "ConfigMap", "web") {
			t.Error("applied without confirmation")
		}
	})

	t.Run("--yes applies, then there is nothing to apply", func(t *testing.T) {
		ns := testenv.NewNamespace(t, env)
		repo := shopRepo(t, ns)
		p := startSlipway(t, nil, "apply", "dev", "--repo", repo, "--kubeconfig", kc, "--yes")
		if code := p.wait(t, time.Minute); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, p.stdout, p.stderr)
		}
		out := p.stdout.String() + p.stderr.String()
		for _, want := range []string{"+ create ConfigMap " + ns + "/web", "dev: applied (2 created)", "created     Secret " + ns + "/web-credentials"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, secretValue) {
			t.Error("printed the Secret's value")
		}
		if !exists(t, env, ns, "ConfigMap", "web") || !exists(t, env, ns, "Secret", "web-credentials") {
			t.Error("objects not in the cluster")
		}

		again := startSlipway(t, nil, "apply", "dev", "--repo", repo, "--kubeconfig", kc, "--context", "testenv", "--yes")
		if code := again.wait(t, time.Minute); code != 0 || !strings.Contains(again.stdout.String(), "Nothing to apply") {
			t.Fatalf("second apply: exit %d\n%s%s", code, again.stdout, again.stderr)
		}
	})

	t.Run("unhealthy after the wait exits 1", func(t *testing.T) {
		ns := testenv.NewNamespace(t, env)
		// This cluster runs no controllers: a Deployment never rolls out.
		repo := writeRepo(t, map[string]string{
			".slipway.yaml": fmt.Sprintf("version: 1\nenvironments:\n  - {name: dev, path: deploy, cluster: testenv, namespace: %s, wait: 2s}\n", ns),
			"deploy/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: example.invalid/web:1}]}
`,
		})
		p := startSlipway(t, nil, "apply", "dev", "--repo", repo, "--kubeconfig", kc, "--yes")
		if code := p.wait(t, time.Minute); code != exitError {
			t.Fatalf("exit %d\n%s%s", code, p.stdout, p.stderr)
		}
		out := p.stdout.String()
		if !strings.Contains(out, "unhealthy   Deployment "+ns+"/web") || !strings.Contains(out, "not healthy after 2s") {
			t.Errorf("output does not name the unhealthy Deployment:\n%s", out)
		}
	})

	t.Run("a plan with errors is not applied", func(t *testing.T) {
		ns := testenv.NewNamespace(t, env)
		repo := writeRepo(t, map[string]string{
			".slipway.yaml": fmt.Sprintf("version: 1\nenvironments:\n  - {name: dev, path: deploy, cluster: testenv, namespace: %s}\n", ns),
			"deploy/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n",
		})
		p := startSlipway(t, nil, "apply", "dev", "--repo", repo, "--kubeconfig", kc, "--yes")
		if code := p.wait(t, time.Minute); code != exitError || !strings.Contains(p.stderr.String(), "has errors, so nothing was applied") {
			t.Fatalf("exit %d\n%s%s", code, p.stdout, p.stderr)
		}
		if exists(t, env, ns, "ConfigMap", "fine") {
			t.Error("applied part of a plan with errors")
		}
	})

	t.Run("unknown environment", func(t *testing.T) {
		p := startSlipway(t, nil, "apply", "prod", "--repo", shopRepo(t, "x"), "--kubeconfig", kc, "--yes")
		if code := p.wait(t, time.Minute); code != exitError || !strings.Contains(p.stderr.String(), `no environment "prod"`) {
			t.Fatalf("exit %d: %s", code, p.stderr)
		}
	})
}

// answer is standard input that runs before (when set) the first time it
// is read, as if something happened while the user read the plan.
type answer struct {
	text   string
	before func()
	r      io.Reader
}

func (a *answer) Read(p []byte) (int, error) {
	if a.r == nil {
		if a.before != nil {
			a.before()
		}
		a.r = strings.NewReader(a.text)
	}
	return a.r.Read(p)
}

// The prompt, run in-process with standard input standing in for a
// terminal.
func TestApplyConfirmation(t *testing.T) {
	env := testenv.Get(t)
	saved := stdinIsTerminal
	stdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { stdinIsTerminal = saved })

	run := func(t *testing.T, ns string, in io.Reader) (string, error) {
		root := newRoot()
		var out bytes.Buffer
		root.SetArgs([]string{"apply", "dev", "--repo", shopRepo(t, ns), "--kubeconfig", env.Kubeconfig()})
		root.SetIn(in)
		root.SetOut(&out)
		root.SetErr(&out)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}

	tests := []struct {
		name    string
		answer  string
		meddle  bool // change the cluster while the plan is on screen
		applied bool
		wantErr string
		wantOut string
	}{
		{name: "yes applies", answer: "y\n", applied: true, wantOut: "dev: applied (2 created)"},
		{name: "no declines", answer: "n\n", wantErr: "exit status 1", wantOut: "Apply declined: nothing was changed."},
		{name: "end of input declines", answer: "", wantErr: "exit status 1", wantOut: "Apply declined"},
		{name: "a change after the plan was shown is refused", answer: "yes\n", meddle: true,
			wantErr: "the plan changed since it was reviewed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := testenv.NewNamespace(t, env)
			in := &answer{text: tc.answer}
			if tc.meddle {
				in.before = func() {
					serverSideApply(t, env, ns, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"},"data":{"greeting":"changed by hand"}}`, "configmaps", "web")
				}
			}
			out, err := run(t, ns, in)
			if !strings.Contains(out, "Apply these changes to dev? [y/N]") {
				t.Errorf("no prompt:\n%s", out)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out)
			}
			if got := exists(t, env, ns, "Secret", "web-credentials"); got != tc.applied {
				t.Errorf("Secret in the cluster: %v, want %v", got, tc.applied)
			}
		})
	}
}
