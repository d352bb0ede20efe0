// Command slipway is the slipway GitHub App: GitOps for Kubernetes through
// pull requests. Subcommands only wire flags to the internal packages.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := newRoot().ExecuteContext(ctx)
	if code, ok := isExitCode(err); ok {
		os.Exit(code)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slipway:", err)
		os.Exit(exitError)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "slipway",
		Short:         "GitOps for Kubernetes through pull requests",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServe(), newPlan(), newApply(), newValidate(), newSetup(), newInit(), newVersion())
	return root
}
