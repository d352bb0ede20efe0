package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/plan"
)

// hugePlans is 5,000 changed objects in staging, a small production plan
// and a failed canary plan: the budget must keep the small ones visible.
func hugePlans() []*plan.Plan {
	prod := bigPlan("production", 3)
	canary := &plan.Plan{Environment: "canary", Commit: prod.Commit, Err: "render deploy/canary: Chart.yaml: version is required"}
	return []*plan.Plan{bigPlan("staging", 5000), prod, canary}
}

// wantTable is the summary table hugePlans must produce.
const wantTable = "| Environment | Changes | Errors | Unchanged |\n" +
	"|:--|:--|--:|--:|\n" +
	"| staging | `+1667 ~1667 -1666` | 0 | 25 |\n" +
	"| production | `+1 ~1 -1` | 0 | 25 |\n" +
	"| canary | **plan failed** | — | — |\n"

func TestMarkdownHugePlanSplits(t *testing.T) {
	plans := hugePlans()
	parts := Markdown(plans, MarkdownOptions{Marker: marker})
	if len(parts) < 2 {
		t.Fatalf("5,000 objects fit in %d part", len(parts))
	}
	if !strings.Contains(parts[0], wantTable) {
		t.Errorf("part 1 lacks the summary table:\n%s", parts[0][:min(len(parts[0]), 1000)])
	}
	seen := map[string]int{}
	for i, part := range parts {
		if len(part) > DefaultMaxLen || len(part) > gh.CommentLimit {
			t.Errorf("part %d is %d bytes, over %d", i+1, len(part), DefaultMaxLen)
		}
		if !strings.HasPrefix(part, marker+"\n") {
			t.Errorf("part %d does not start with the marker", i+1)
		}
		if want := fmt.Sprintf("(part %d of %d)", i+1, len(parts)); !strings.Contains(part, want) {
			t.Errorf("part %d does not say %q", i+1, want)
		}
		if i > 0 && strings.Contains(part, "| Environment |") {
			t.Errorf("part %d repeats the summary table", i+1)
		}
		if more := strings.Contains(part, "Continued in part"); more != (i < len(parts)-1) {
			t.Errorf("part %d: says it continues = %v", i+1, more)
		}
		checkWellFormed(t, part)
		for _, name := range shownObjects(part) {
			seen[name]++
		}
	}
	if len(seen) != 5000+3 {
		t.Errorf("%d distinct objects shown, want 5003", len(seen))
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s shown %d times", name, n)
		}
	}
	last := parts[len(parts)-1]
	for _, want := range []string{"#### production · +1 ~1 -1", "#### canary · plan failed", "Chart.yaml: version is required"} {
		if !strings.Contains(strings.Join(parts, ""), want) {
			t.Errorf("%q missing from every part", want)
		}
	}
	if !strings.Contains(last, "#### canary") {
		t.Errorf("the last environment should end the last part")
	}
	t.Logf("%d parts, largest %d bytes", len(parts), maxLen(parts))
}

var omittedRE = regexp.MustCompile("…and ([0-9,]+) more objects not shown — full report in the check run / `slipway plan`\\.\n$")

func TestMarkdownSingleHugePlan(t *testing.T) {
	for _, maxLen := range []int{0, gh.CheckRunLimit, 20000, MinMaxLen} {
		t.Run(strconv.Itoa(maxLen), func(t *testing.T) {
			md := MarkdownSingle(hugePlans(), MarkdownOptions{MaxLen: maxLen, Marker: marker})
			limit := maxLen
			if limit == 0 {
				limit = DefaultMaxLen
			}
			if len(md) > limit {
				t.Errorf("%d bytes, over %d", len(md), limit)
			}
			checkWellFormed(t, md)
			if !strings.Contains(md, wantTable) {
				t.Errorf("summary table missing")
			}
			m := omittedRE.FindStringSubmatch(md)
			if m == nil {
				t.Fatalf("does not end with the omitted line:\n%s", md[max(0, len(md)-500):])
			}
			n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			if shown := len(shownObjects(md)); shown+n != 5003 {
				t.Errorf("%d shown + %d said omitted != 5003", shown, n)
			}
			// Every environment keeps its heading and footer, and says what
			// of it was left out.
			for _, want := range []string{"#### production", "#### canary · plan failed", "more production objects not shown", "<sub>25 unchanged · plan"} {
				if !strings.Contains(md, want) {
					t.Errorf("%q missing", want)
				}
			}
		})
	}
}

func TestMarkdownSingleFitsWithoutNote(t *testing.T) {
	md := MarkdownSingle(smallPlans(), MarkdownOptions{})
	if strings.Contains(md, "not shown") {
		t.Errorf("a plan that fits says objects were left out:\n%s", md)
	}
	if parts := Markdown(smallPlans(), MarkdownOptions{}); len(parts) != 1 || parts[0] != md {
		t.Errorf("a plan that fits should be one part, identical to MarkdownSingle")
	}
}

func TestMarkdownEnormousObject(t *testing.T) {
	var before, after strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&before, "  key-%05d: old value %d\n", i, i)
		fmt.Fprintf(&after, "  key-%05d: new value %d\n", i, i)
	}
	huge := plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "huge"}, Action: plan.Update,
		Before: "data:\n" + before.String(), After: "data:\n" + after.String()}
	small := plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "small"}, Action: plan.Create, After: "data: {}\n"}
	oneLine := plan.Change{Ref: plan.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "blob"}, Action: plan.Create,
		After: "binaryData:\n  blob: " + strings.Repeat("QUJD", 50000) + "\n"}
	plans := onePlan(huge, small, oneLine)

	for name, docs := range map[string][]string{
		"split":  Markdown(plans, MarkdownOptions{}),
		"single": {MarkdownSingle(plans, MarkdownOptions{})},
	} {
		t.Run(name, func(t *testing.T) {
			if len(docs) != 1 {
				t.Fatalf("a cut object should leave room for the others in one part, got %d parts", len(docs))
			}
			md := docs[0]
			checkWellFormed(t, md)
			if len(md) > DefaultMaxLen {
				t.Errorf("%d bytes", len(md))
			}
			m := regexp.MustCompile(`Showing the first ([0-9,]+) of ([0-9,]+) lines`).FindStringSubmatch(md)
			if m == nil {
				t.Fatalf("no truncation note:\n%s", md[:2000])
			}
			shown, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			total, _ := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
			bodies := fencedBodies(md)
			if got := len(strings.Split(bodies[0], "\n")); got != shown {
				t.Errorf("note says %d lines shown, fence holds %d", shown, got)
			}
			if total != 40002 || shown == 0 || shown >= total {
				t.Errorf("shown %d of %d", shown, total)
			}
			block := md[strings.Index(md, "<details"):]
			block = block[:strings.Index(block, "</details>")]
			if len(block) > DefaultMaxLen/4 {
				t.Errorf("the huge object takes %d bytes, more than MaxObjectLen", len(block))
			}
			for _, want := range []string{"<code>shop/small</code>", "Lines longer than 2,000 characters are shortened", "+  blob: QUJD"} {
				if !strings.Contains(md, want) {
					t.Errorf("%q missing", want)
				}
			}
		})
	}
}

func maxLen(parts []string) int {
	n := 0
	for _, p := range parts {
		n = max(n, len(p))
	}
	return n
}

func BenchmarkMarkdown(b *testing.B) {
	plans := hugePlans()
	b.Run("split", func(b *testing.B) {
		for b.Loop() {
			Markdown(plans, MarkdownOptions{Marker: marker})
		}
	})
	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			MarkdownSingle(plans, MarkdownOptions{Marker: marker})
		}
	})
}

func TestMarkdownHostileSizes(t *testing.T) {
	// Names and notes far beyond what Kubernetes allows, made of characters
	// that grow when escaped: the budget must hold anyway.
	var changes []plan.Change
	for i := range 30 {
		changes = append(changes, plan.Change{
			Ref:     plan.Ref{Version: "v1", Kind: strings.Repeat(`"`, 1000), Namespace: strings.Repeat("&", 1000), Name: fmt.Sprintf("%d%s", i, strings.Repeat("<", 1000))},
			Action:  plan.Create,
			File:    strings.Repeat("'", 1000),
			After:   strings.Repeat("`", 5000) + "\n",
			Message: strings.Repeat("*", 10000),
		})
	}
	plans := onePlan(changes...)
	plans[0].Environment = strings.Repeat("|", 200)
	plans[0].Skipped = changes
	plans[0].Err = strings.Repeat("```\n", 3000)
	opts := MarkdownOptions{MaxLen: MinMaxLen, Marker: marker}
	parts := Markdown(plans, opts)
	t.Logf("%d parts, largest %d bytes", len(parts), maxLen(parts))
	for i, part := range parts {
		if len(part) > MinMaxLen {
			t.Errorf("part %d is %d bytes", i+1, len(part))
		}
		checkWellFormed(t, part)
	}
	md := MarkdownSingle(plans, opts)
	if len(md) > MinMaxLen {
		t.Errorf("single is %d bytes", len(md))
	}
	checkWellFormed(t, md)

	// Whatever could not be shown is still counted.
	notShown := regexp.MustCompile(`…and ([0-9,]+) more .*objects not shown`)
	for _, doc := range append(parts, md) {
		n := 0
		if m := notShown.FindStringSubmatch(doc); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if shown := strings.Count(doc, "<details>"); shown+n != len(changes) {
			t.Errorf("%d shown + %d counted as not shown != %d", shown, n, len(changes))
		}
	}
}
