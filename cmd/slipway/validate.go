package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/policy"
	"github.com/slipwayhq/slipway/internal/render"
)

func newValidate() *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check .slipway.yaml, render every environment and weigh its policy rules, without a cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadRepoConfig(repo)
			if err != nil {
				return err
			}
			rules, err := policy.CompileRules(cfg)
			if err != nil {
				return err
			}
			failed, violated, charts := 0, 0, 0
			for i := range cfg.Environments {
				env := &cfg.Environments[i]
				// In process, not in renderproc's bounded child: validate
				// renders the user's own checkout on the user's machine (or
				// in their CI, which runs the pull request's code anyway),
				// so there is no one to protect from it, and a runaway
				// render is the user's to interrupt.
				res, err := render.Render(cmd.Context(), repo, env, render.Options{Scope: render.Offline})
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", env.Name, err)
					continue
				}
				if res.Kind == render.KindHelm {
					charts++
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, %d objects", env.Name, res.Kind, len(res.Objects))
				if len(res.Skipped) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), " (%d Helm hooks)", len(res.Skipped))
				}
				fmt.Fprintln(cmd.OutOrStdout())
				// Hooks an apply may run are weighed too, as the server weighs them.
				hooks, err := plan.RunnableHooks(res.Skipped)
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", env.Name, err)
					continue
				}
				objs := make([]*unstructured.Unstructured, 0, len(res.Objects)+len(hooks))
				for _, o := range append(slices.Clip(res.Objects), hooks...) {
					objs = append(objs, o.Object)
				}
				for _, it := range policy.CheckRules(cmd.Context(), rules.For(env.Name), objs) {
					if it.Met {
						continue
					}
					violated++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: rule %q: %s\n", env.Name, it.Name, it.Reason)
					for _, v := range it.Violations {
						fmt.Fprintf(cmd.ErrOrStderr(), "  %s: %s\n", v.Object, v.Message)
					}
				}
			}
			if charts > 0 {
				// Without a cluster, .Capabilities are Helm's guesses: a chart
				// that branches on them may render otherwise in a plan.
				fmt.Fprintf(cmd.OutOrStdout(), "note: %s; slipway plan renders with the target cluster's.\n", render.DefaultCapabilitiesNote())
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d environments failed to render", failed, len(cfg.Environments))
			}
			if violated > 0 {
				return fmt.Errorf("%d policy rules are not met", violated)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository checkout holding .slipway.yaml")
	return cmd
}
