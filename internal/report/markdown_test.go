package report

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

const marker = "<!-- slipway:plan -->"

func TestMarkdownGolden(t *testing.T) {
	// Golden files are the review surface: read them as a reviewer would,
	// rendered on GitHub.
	tests := []struct {
		file   string
		render func() string
	}{
		{"small.md", func() string {
			return strings.Join(Markdown(smallPlans(), MarkdownOptions{Marker: marker}), "")
		}},
		{"no-plans.md", func() string {
			return strings.Join(Markdown(nil, MarkdownOptions{Marker: marker}), "")
		}},
		{"single-cut.md", func() string {
			return MarkdownSingle([]*plan.Plan{bigPlan("staging", 60)}, MarkdownOptions{MaxLen: MinMaxLen, Marker: marker})
		}},
		{"split.md", func() string {
			// Parts are separated by a rule so the golden file shows where
			// one comment ends and the next begins.
			parts := Markdown([]*plan.Plan{bigPlan("staging", 50)}, MarkdownOptions{MaxLen: MinMaxLen, Marker: marker})
			return strings.Join(parts, "\n<!-- ======== next comment ======== -->\n\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := tt.render()
			checkWellFormed(t, got)
			golden(t, tt.file, got)
		})
	}
}

// onePlan wraps changes into a plan for staging.
func onePlan(changes ...plan.Change) []*plan.Plan {
	return []*plan.Plan{{Environment: "staging", Commit: "3f9c2a17e4b5d6c7a8b9c0d1e2f3a4b5c6d7e8f9", Digest: "sha256:00", Changes: changes}}
}

// fencedBodies returns the contents of every fenced block in md.
func fencedBodies(md string) []string {
	var bodies []string
	var cur []string
	open := ""
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, ">") {
			line = strings.TrimPrefix(strings.TrimPrefix(line, ">"), " ")
		}
		switch {
		case open == "" && strings.HasPrefix(line, "```"):
			open = line[:len(line)-len(strings.TrimLeft(line, "`"))]
			cur = nil
		case open != "" && strings.TrimRight(line, " ") == open:
			bodies = append(bodies, strings.Join(cur, "\n"))
			open = ""
		case open != "":
			cur = append(cur, line)
		}
	}
	return bodies
}

func TestMarkdownObjects(t *testing.T) {
	ref := plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}
	after := strings.Replace(configMapBefore, "LOG_LEVEL: info", "LOG_LEVEL: debug", 1)
	tests := []struct {
		name    string
		change  plan.Change
		summary string   // the object's <summary> line must contain this
		lines   string   // every line of the fenced body starts with one of these
		want    []string // the body must contain these lines
	}{
		{"create", plan.Change{Ref: ref, Action: plan.Create, After: after, File: "deploy/staging/cm.yaml", Line: 7},
			"<details><summary><code>+ create</code> <b>ConfigMap</b> <code>shop/web-config</code> <sub>deploy/staging/cm.yaml:7</sub></summary>",
			"+", []string{"+  LOG_LEVEL: debug", "+kind: ConfigMap"}},
		{"delete", plan.Change{Ref: ref, Action: plan.Delete, Before: configMapBefore},
			"<details><summary><code>- delete</code> <b>ConfigMap</b> <code>shop/web-config</code></summary>",
			"-", []string{"-  LOG_LEVEL: info", "-kind: ConfigMap"}},
		{"update", plan.Change{Ref: ref, Action: plan.Update, Before: configMapBefore, After: after, File: "deploy/staging/cm.yaml"},
			"<details><summary><code>~ update</code> <b>ConfigMap</b> <code>shop/web-config</code> <sub>deploy/staging/cm.yaml</sub></summary>",
			"+- @", []string{"@@ -1,6 +1,6 @@", "-  LOG_LEVEL: info", "+  LOG_LEVEL: debug", "   MAX_CONNECTIONS: \"100\""}},
		{"error", plan.Change{Ref: ref, Action: plan.Error, Message: "admission webhook denied the request:\nLOG_LEVEL must be one of info, warn"},
			"<details open><summary><code>! error</code> <b>ConfigMap</b> <code>shop/web-config</code></summary>",
			"aL", []string{"admission webhook denied the request:", "LOG_LEVEL must be one of info, warn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := MarkdownSingle(onePlan(tt.change), MarkdownOptions{})
			checkWellFormed(t, md)
			if !strings.Contains(md, tt.summary+"\n") {
				t.Errorf("summary line %q missing from:\n%s", tt.summary, md)
			}
			bodies := fencedBodies(md)
			if len(bodies) != 1 {
				t.Fatalf("want one fenced block, got %d:\n%s", len(bodies), md)
			}
			got := strings.Split(bodies[0], "\n")
			for _, l := range got {
				if l == "" || !strings.ContainsAny(l[:1], tt.lines) {
					t.Errorf("line %q does not start with one of %q", l, tt.lines)
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("line %q missing from body:\n%s", w, bodies[0])
				}
			}
		})
	}
}

func TestMarkdownUnchangedOnlyCounted(t *testing.T) {
	changes := []plan.Change{
		{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "quiet-one"}, Action: plan.Unchanged, After: configMapBefore, Before: configMapBefore},
		{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "quiet-two"}, Action: plan.Unchanged},
		{Ref: plan.Ref{Version: "v1", Kind: "Service", Namespace: "shop", Name: "legacy"}, Action: plan.Delete, Before: serviceYAML},
	}
	md := MarkdownSingle(onePlan(changes...), MarkdownOptions{})
	if strings.Contains(md, "quiet-") {
		t.Errorf("unchanged objects are listed:\n%s", md)
	}
	for _, want := range []string{"| staging | `-1` | 0 | 2 |", "<sub>2 unchanged · "} {
		if !strings.Contains(md, want) {
			t.Errorf("%q missing:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "<details"); n != 1 {
		t.Errorf("%d objects shown, want 1", n)
	}
}

func TestMarkdownReviewOrder(t *testing.T) {
	md := MarkdownSingle(smallPlans(), MarkdownOptions{})
	order := []string{"! error", "- delete", "~ update", "+ create"}
	last := -1
	for _, o := range order {
		i := strings.Index(md, "<code>"+o+"</code>")
		if i < last {
			t.Errorf("%q comes before the previous group", o)
		}
		last = i
	}
}

func TestMarkdownBackticksInContent(t *testing.T) {
	// A ConfigMap holding a README: backtick runs of 3 and 6 that must not
	// close the diff's fence; an error message and a plan error with fences.
	readme := "apiVersion: v1\ndata:\n  README.md: |\n    ```bash\n    make deploy\n    ```\n    `````` six\n    ```\nkind: ConfigMap\n"
	plans := onePlan(
		plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "docs", Name: "readme"}, Action: plan.Create, After: readme},
		plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "docs", Name: "broken"}, Action: plan.Error, Message: "bad value:\n```\n</details>\n```"},
	)
	plans = append(plans, &plan.Plan{Environment: "prod", Err: "helm template failed:\n````\n</details><details>\n````"})
	for _, md := range append(Markdown(plans, MarkdownOptions{}), MarkdownSingle(plans, MarkdownOptions{})) {
		checkWellFormed(t, md)
		if !strings.Contains(md, "```````diff\n") {
			t.Errorf("want a 7-backtick fence around a body with a run of 6:\n%s", md)
		}
		bodies := fencedBodies(md)
		if len(bodies) != 3 {
			t.Fatalf("want 3 fenced blocks, got %d:\n%s", len(bodies), md)
		}
		if want := prefixLines("+", readme); bodies[1]+"\n" != want {
			t.Errorf("diff body changed:\n%s\nwant:\n%s", bodies[1], want)
		}
		if !strings.Contains(bodies[0], "</details>") || !strings.Contains(bodies[2], "</details>") {
			t.Errorf("HTML in messages should stay inside its fence:\n%s", md)
		}
	}
}

func TestMarkdownEscapesNames(t *testing.T) {
	p := &plan.Plan{
		Environment: "**prod** | <i>x</i> @everyone",
		Commit:      "not-a-sha](http://evil)",
		Changes: []plan.Change{{
			Ref:     plan.Ref{Version: "v1", Kind: "</summary><script>", Namespace: "a&b", Name: `<img src=x onerror="alert(1)">`},
			Action:  plan.Create,
			File:    "deploy/<b>x</b>.yaml",
			After:   "kind: X\n",
			Message: "see [here](http://evil) and <img src=y>",
		}},
	}
	md := MarkdownSingle([]*plan.Plan{p}, MarkdownOptions{})
	checkWellFormed(t, md)
	// Unescaped: not preceded by a backslash.
	for _, bad := range []string{"<img", "<script", "<i>", "<b>x", "](http", "| <i", "@everyone"} {
		if regexp.MustCompile(`(^|[^\\])` + regexp.QuoteMeta(bad)).MatchString(md) {
			t.Errorf("unescaped %q in:\n%s", bad, md)
		}
	}
	for _, want := range []string{
		"<b>&lt;/summary&gt;&lt;script&gt;</b> <code>a&amp;b/&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</code> <sub>deploy/&lt;b&gt;x&lt;/b&gt;.yaml</sub></summary>",
		`| \*\*prod\*\* \| \<i\>x\</i\> \@everyone |`,
		`#### \*\*prod\*\* \| \<i\>x\</i\> \@everyone · +1`,
		`> see \[here\]\(http\://evil\) and \<img src=y\>`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("%q missing from:\n%s", want, md)
		}
	}
}

func TestMarkdownPlanError(t *testing.T) {
	p := &plan.Plan{Environment: "staging", Commit: "3f9c2a17e4b5", Err: "render deploy/staging: kustomization.yaml: line 4: unknown field \"resourcez\""}
	md := MarkdownSingle([]*plan.Plan{p}, MarkdownOptions{})
	for _, want := range []string{
		"| staging | **plan failed** | — | — |",
		"#### staging · plan failed\n\n> [!CAUTION]\n",
		"> ```\n> render deploy/staging: kustomization.yaml: line 4: unknown field \"resourcez\"\n> ```\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("%q missing from:\n%s", want, md)
		}
	}
	// A plan error as long as a log is shortened, with a note.
	p.Err = strings.Repeat("error line\n", 5000)
	md = MarkdownSingle([]*plan.Plan{p}, MarkdownOptions{})
	checkWellFormed(t, md)
	if len(md) > maxPlanErrLen+2000 || !strings.Contains(md, "The error is shortened here") {
		t.Errorf("long plan error not shortened (%d bytes)", len(md))
	}
}

func TestMarkdownMultipleCommits(t *testing.T) {
	plans := smallPlans()
	plans[1].Commit = "aaaaaaa1111111"
	md := MarkdownSingle(plans, MarkdownOptions{})
	if !strings.Contains(md, "### slipway plan for 3f9c2a1, aaaaaaa\n") {
		t.Errorf("header should name both commits:\n%s", md[:200])
	}
}

var detailsRE = regexp.MustCompile(`<code>(\w+/app-\d{5})</code>`)

// shownObjects returns the names of the objects md shows.
func shownObjects(md string) []string {
	var names []string
	for _, m := range detailsRE.FindAllStringSubmatch(md, -1) {
		names = append(names, m[1])
	}
	return names
}

func TestMarkdownNotes(t *testing.T) {
	p := &plan.Plan{Environment: "staging", Commit: "abc1234", Notes: []string{"🔒 Locked by #12: this plan can be reviewed but not applied."}}
	out := MarkdownSingle([]*plan.Plan{p}, MarkdownOptions{})
	if !strings.Contains(out, "> 🔒 Locked by #12: this plan can be reviewed but not applied.") {
		t.Errorf("note missing:\n%s", out)
	}
}
