package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// plan and apply use the inventories of the repository the checkout is of;
// one that cannot be told is an error saying what to pass, never a guess.
func TestRepositoryMustBeKnown(t *testing.T) {
	noRemote := t.TempDir() // not a git checkout at all
	cfg := "version: 1\nenvironments:\n  - {name: dev, path: deploy, cluster: testenv}\n"
	if err := os.WriteFile(filepath.Join(noRemote, ".slipway.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--repo", noRemote}, "it has no origin remote): pass --repository owner/name"},
		{[]string{"apply", "dev", "--yes", "--repo", noRemote}, "it has no origin remote): pass --repository owner/name"},
		{[]string{"plan", "--repo", noRemote, "--repository", "shop"}, `--repository: repository "shop" is not owner/name`},
	}
	for _, tc := range tests {
		p := startSlipway(t, nil, tc.args...)
		if code := p.wait(t, time.Minute); code != exitError || !strings.Contains(p.stderr.String(), tc.want) {
			t.Errorf("slipway %s: exit %d, stderr %q; want 1 and %q", strings.Join(tc.args, " "), code, p.stderr, tc.want)
		}
	}
}
