package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/gh"
)

// repositoryFlag is the GitHub repository (owner/name) a checkout is of.
// An environment's inventory in the cluster is its repository's, so the
// CLI must plan and apply as the repository the server knows it as, or it
// would read (and write) another inventory than the server's.
type repositoryFlag struct{ name string }

func (f *repositoryFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.name, "repository", "",
		"GitHub repository (owner/name) the checkout is of, whose inventories are used (default: from the checkout's origin remote)")
}

// resolve is the repository named by the flag, or else by the URL of the
// origin remote of the checkout at dir. Without either it is an error that
// says what to pass: a guessed name would plan against an inventory the
// server never uses.
func (f *repositoryFlag) resolve(ctx context.Context, dir string) (string, error) {
	if f.name != "" {
		r, err := gh.ParseRepo(f.name)
		if err != nil {
			return "", fmt.Errorf("--repository: %w", err)
		}
		return r.String(), nil
	}
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "remote", "get-url", "origin").Output()
	if err != nil {
		return "", fmt.Errorf("cannot tell which GitHub repository %s is (it has no origin remote): pass --repository owner/name", dir)
	}
	r, err := gh.ParseRemote(strings.TrimSpace(string(out)))
	if err != nil {
		return "", fmt.Errorf("cannot tell which GitHub repository %s is: %w; pass --repository owner/name", dir, err)
	}
	return r.String(), nil
}
