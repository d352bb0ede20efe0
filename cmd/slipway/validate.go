package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/render"
)

func newValidate() *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check .slipway.yaml and render every environment, without a cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadRepoConfig(repo)
			if err != nil {
				return err
			}
			failed := 0
			for i := range cfg.Environments {
				env := &cfg.Environments[i]
				res, err := render.Render(cmd.Context(), repo, env, render.Options{})
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", env.Name, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, %d objects", env.Name, res.Kind, len(res.Objects))
				if len(res.Skipped) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), " (%d Helm hooks skipped)", len(res.Skipped))
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d environments failed to render", failed, len(cfg.Environments))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository checkout holding .slipway.yaml")
	return cmd
}
