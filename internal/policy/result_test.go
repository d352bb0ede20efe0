package policy

import (
	"testing"
)

func TestTitleAndPassed(t *testing.T) {
	met, unmet := Item{Met: true}, Item{}
	tests := []struct {
		items  []Item
		title  string
		passed bool
	}{
		{items: nil, title: "no requirements", passed: true},
		{items: []Item{met}, title: "all 1 requirement met", passed: true},
		{items: []Item{met, met, met, met}, title: "all 4 requirements met", passed: true},
		{items: []Item{met, unmet, met, unmet}, title: "2 of 4 requirements met"},
		{items: []Item{unmet}, title: "0 of 1 requirement met"},
	}
	for _, tt := range tests {
		r := Result{Env: "staging", Items: tt.items}
		if r.Title() != tt.title || r.Passed() != tt.passed {
			t.Errorf("%d items: Title %q Passed %v; want %q %v", len(tt.items), r.Title(), r.Passed(), tt.title, tt.passed)
		}
	}
}
