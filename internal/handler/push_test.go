package handler

import (
	"slices"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestPushedFiles(t *testing.T) {
	commit := func(added, modified, removed []string) *github.HeadCommit {
		return &github.HeadCommit{Added: added, Modified: modified, Removed: removed}
	}
	tests := []struct {
		name         string
		ev           github.PushEvent
		want         []string
		wantComplete bool
	}{
		{"files of every commit, once", github.PushEvent{Commits: []*github.HeadCommit{commit([]string{"a"}, []string{"b"}, nil), commit(nil, []string{"a"}, []string{"c"})}}, []string{"a", "b", "c"}, true},
		{"forced", github.PushEvent{Forced: github.Bool(true), Commits: []*github.HeadCommit{commit([]string{"a"}, nil, nil)}}, nil, false},
		{"new branch", github.PushEvent{Created: github.Bool(true)}, nil, false},
		{"null commit in a malformed payload", github.PushEvent{Commits: []*github.HeadCommit{commit([]string{"a"}, nil, nil), nil}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, complete := pushedFiles(&tt.ev)
			if complete != tt.wantComplete || (complete && !slices.Equal(got, tt.want)) {
				t.Errorf("pushedFiles = %v, %v; want %v, %v", got, complete, tt.want, tt.wantComplete)
			}
		})
	}
}
