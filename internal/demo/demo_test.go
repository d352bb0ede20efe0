package demo

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/config/examples"
)

// buildSlipway builds the slipway binary the demo runs.
func buildSlipway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "slipway")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/slipwayhq/slipway/cmd/slipway").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestRun plays the whole demo and checks the transcript tells what
// GitHub received: the refusal, the Deployment records, production after
// staging, the history, and never a Secret's value.
func TestRun(t *testing.T) {
	bin := buildSlipway(t)
	page := filepath.Join(t.TempDir(), "demo.html")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	began := time.Now()
	err := Run(ctx, Options{Out: &out, HTML: page, Slipway: bin})
	transcript := out.String()
	t.Logf("demo took %s; transcript:\n%s", time.Since(began).Round(time.Second), transcript)
	if err != nil {
		t.Fatal(err)
	}

	files, err := examples.Shop()
	if err != nil {
		t.Fatal(err)
	}
	original, err := secretValue(files[secretFile])
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("the HTML transcript: %v", err)
	}
	for _, secret := range []string{original, rotatedPassword} {
		if strings.Contains(transcript, secret) || strings.Contains(string(html), secret) {
			t.Errorf("a Secret value reached the transcript or the page")
		}
	}

	for _, want := range []struct{ what, re string }{
		{"the plan of both environments", `(?m)^\s+│ staging\s+~\d+ -1 .*\n\s+│ production\s+~\d+ -1`},
		{"the masked Secret in the plan", `~ update Secret shop-staging/db-credentials`},
		{"the reader's refusal", `@rita /apply refused`},
		{"the passing policy", `slipway/policy: staging on \w+: success`},
		{"staging's Deployment record", `Deployment \d+ · environment staging · ref \w+ \(head of #1\).*(\n.*)*?\n\s+\S+\s+success\s`},
		{"production's Deployment record", `Deployment \d+ · environment production · ref \w+ \(main, the merge of #1\).*(\n.*)*?\n\s+\S+\s+success\s`},
		{"production after staging", `staging succeeded at \S+ \(Deployment \d+.*\n.*got its Deployment \d+ at the merge commit at \S+, not before\.`},
		{"the history table", `(?m)^\s+Environment\s+Ref\s+State\s+Created\n.*\n\s+production\s+\w+ \(main, the merge of #1\)\s+success\s.*\n\s+staging\s+\w+ \(head of #1\)\s+success\s`},
		{"the page's path", regexp.QuoteMeta(page)},
		{"no Secret value sent to GitHub", `✓ None of the \d+ requests carried the Secret's password`},
		{"the cleanup", `everything stopped`},
	} {
		if !regexp.MustCompile(want.re).MatchString(transcript) {
			t.Errorf("the transcript lacks %s (%s)", want.what, want.re)
		}
	}
	if strings.Contains(transcript, "⚠ production's Deployment was created") {
		t.Error("production started before staging finished")
	}
	// The plan comment's markdown rendered: its GFM table, its collapsible
	// objects, its diffs.
	for _, want := range []string{`<th style="text-align:left">Environment</th>`, "<details><summary>", `<span class="del">`, `<span class="add">`, "@rita"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}
