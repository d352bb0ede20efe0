package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/apply"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func newApply() *cobra.Command {
	var (
		repo       string
		clusters   clusterFlags
		repository repositoryFlag
		yes        bool
	)
	cmd := &cobra.Command{
		Use:   "apply ENV",
		Short: "Make an environment's cluster match the repository, after showing the plan",
		Long: "Render environment ENV of DIR/.slipway.yaml, show what applying it would change (as slipway plan does),\n" +
			"ask for confirmation, then apply it: Namespaces and CRDs first, prune what is no longer rendered, wait\n" +
			"for the objects to be healthy. What is applied is the plan that was shown: if the cluster or the\n" +
			"checkout changes before you confirm, slipway refuses. Nothing is recorded on GitHub.\n" +
			"Exit status: 0 applied (or nothing to apply), 1 failed, refused or declined.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			softMemoryLimit()
			name := args[0]
			if !yes && !stdinIsTerminal(cmd.InOrStdin()) {
				return errors.New("standard input is not a terminal, so slipway cannot ask before applying: pass --yes to apply without asking")
			}
			cfg, err := loadRepoConfig(repo)
			if err != nil {
				return err
			}
			if _, err := selectEnvironments(cfg, args); err != nil {
				return err
			}
			targets, err := clusters.targets()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			full, err := repository.resolve(ctx, repo)
			if err != nil {
				return err
			}
			ropts, err := clusters.renderOptions()
			if err != nil {
				return err
			}
			opts := workflow.PlanOptions{Repository: full, Render: ropts, Limits: clusters.limits()}
			prepared, err := workflow.PrepareApply(ctx, repo, cfg, name, commitOf(ctx, repo), targets, opts)
			if werr := writePlan(out, prepared.Plan); werr != nil {
				return werr
			}
			p := prepared.Plan
			switch {
			case err != nil:
				return exitCode(exitError) // the plan shows why
			case p.Counts().Error > 0:
				return fmt.Errorf("the plan of %s has errors, so nothing was applied: fix them and run slipway apply again", name)
			case !p.HasChanges():
				fmt.Fprintf(out, "\nNothing to apply: %s already matches the repository.\n", name)
				return nil
			}

			var res *apply.Result
			if yes {
				// Nothing happens between showing and applying: apply the
				// very objects shown.
				res, err = prepared.Apply(ctx, p.Digest, nil)
			} else {
				ok, cerr := confirm(cmd.InOrStdin(), out, name)
				if cerr != nil {
					return cerr
				}
				if !ok {
					fmt.Fprintln(out, "Apply declined: nothing was changed.")
					return exitCode(exitError)
				}
				// Time has passed: plan again and refuse unless it is the
				// plan that was shown.
				_, res, err = workflow.ApplyEnvironment(ctx, repo, cfg, name, commitOf(ctx, repo), targets, opts, p.Digest, nil)
			}
			if err != nil {
				if errors.Is(err, workflow.ErrPlanChanged) {
					return fmt.Errorf("%w; nothing was applied", err)
				}
				return err
			}
			fmt.Fprintf(out, "\n%s", res.Text())
			if res.Failed() {
				return exitCode(exitError)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository checkout holding .slipway.yaml")
	repository.register(cmd)
	clusters.register(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking (needed when standard input is not a terminal)")
	return cmd
}

// writePlan shows the plan to be confirmed, with the notes the text report
// leaves out (objects kept rather than pruned).
func writePlan(w io.Writer, p *plan.Plan) error {
	if err := writePlans(w, []*plan.Plan{p}, "text"); err != nil {
		return err
	}
	notes := p.Notes
	if kept := report.KeptNote(p.Changes); kept != "" {
		notes = append([]string{kept}, notes...)
	}
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "note: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

// stdinIsTerminal decides whether apply may ask for confirmation; a
// variable so that tests can answer the prompt.
var stdinIsTerminal = func(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && report.IsTerminal(f)
}

// confirm asks whether to apply to env and reads the answer: only "y" or
// "yes" (any case) applies; anything else, or the end of input, declines.
func confirm(in io.Reader, out io.Writer, env string) (bool, error) {
	if _, err := fmt.Fprintf(out, "\nApply these changes to %s? [y/N] ", env); err != nil {
		return false, err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	switch {
	case errors.Is(err, io.EOF):
		fmt.Fprintln(out) // the input ended without a newline: end the prompt's line
	case err != nil:
		return false, fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
