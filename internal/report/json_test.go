package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/plan"
)

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, smallPlans()); err != nil {
		t.Fatal(err)
	}
	golden(t, "small.json", b.String())

	// Shape: exactly the documented keys, always present.
	var raw struct {
		Plans []map[string]json.RawMessage `json:"plans"`
	}
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	wantKeys := map[string][]string{
		"plan":    {"changes", "commit", "digest", "environment", "error", "hooks", "skipped", "summary"},
		"change":  {"action", "diff", "file", "line", "message", "ref"},
		"summary": {"create", "delete", "error", "unchanged", "update"},
		"ref":     {"group", "kind", "name", "namespace", "version"},
	}
	checkKeys := func(what string, m map[string]json.RawMessage) {
		t.Helper()
		var got []string
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(got)
		if !reflect.DeepEqual(got, wantKeys[what]) {
			t.Errorf("%s keys = %v, want %v", what, got, wantKeys[what])
		}
	}
	for _, p := range raw.Plans {
		checkKeys("plan", p)
		var summary map[string]json.RawMessage
		var changes []map[string]json.RawMessage
		json.Unmarshal(p["summary"], &summary)
		json.Unmarshal(p["changes"], &changes)
		checkKeys("summary", summary)
		if string(p["changes"]) == "null" || string(p["skipped"]) == "null" || string(p["hooks"]) == "null" {
			t.Errorf("changes and skipped must be arrays, even when empty")
		}
		for _, ch := range changes {
			checkKeys("change", ch)
			var ref map[string]json.RawMessage
			json.Unmarshal(ch["ref"], &ref)
			checkKeys("ref", ref)
		}
	}
	if strings.Contains(b.String(), `"before"`) || strings.Contains(b.String(), `"after"`) {
		t.Error("JSON carries before/after documents")
	}

	// Content: unchanged objects counted, not listed; diffs as in markdown.
	var doc jsonDoc
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	staging := doc.Plans[0]
	if want := (jsonSummary{Create: 1, Update: 1, Delete: 1, Unchanged: 1, Error: 1}); staging.Summary != want {
		t.Errorf("summary = %+v, want %+v", staging.Summary, want)
	}
	if len(staging.Changes) != 4 {
		t.Errorf("%d changes, want 4 (unchanged left out)", len(staging.Changes))
	}
	for _, ch := range staging.Changes {
		if ch.Action == "update" && !strings.Contains(ch.Diff, "-  LOG_LEVEL: info\n+  LOG_LEVEL: debug\n") {
			t.Errorf("update diff = %q", ch.Diff)
		}
	}
	if doc.Plans[2].Error == "" || doc.Plans[1].Summary.Unchanged != 40 {
		t.Errorf("plan error or unchanged count lost: %+v", doc.Plans[1:])
	}

	// Round trip: decoding and encoding again gives the same bytes.
	var again bytes.Buffer
	enc := json.NewEncoder(&again)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	if again.String() != b.String() {
		t.Error("JSON does not round-trip")
	}
}

func TestJSONNoPlans(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, []*plan.Plan{nil}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(b.String()); got != `{
  "plans": []
}` {
		t.Errorf("got %s", got)
	}
}
