package workflow

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/gh"
)

func TestFromFork(t *testing.T) {
	repo := gh.Repo{Owner: "acme", Name: "shop"}
	tests := []struct {
		name     string
		headRepo string
		want     []string // in the refusal; none: allowed
	}{
		{"branch of the repository", "acme/shop", nil},
		{"same repository, other case", "ACME/Shop", nil},
		{"fork", "mallory/shop", []string{"#7 comes from the fork mallory/shop", "branches of acme/shop itself", "Merge it to deploy it"}},
		{"fork named like the repository's owner", "acme-evil/shop", []string{"the fork acme-evil/shop"}},
		{"deleted fork", "", []string{"no longer shows", "branches of acme/shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromFork(&gh.PR{Number: 7, HeadRepo: tt.headRepo}, repo)
			if len(tt.want) == 0 {
				if got != "" {
					t.Errorf("refused: %s", got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("refusal %q does not say %q", got, w)
				}
			}
		})
	}
}
