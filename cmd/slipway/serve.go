package main

import (
	"fmt"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/logging"
	"github.com/slipwayhq/slipway/internal/server"
	"github.com/slipwayhq/slipway/internal/version"
)

func newServe() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the GitHub App server",
		Long: "Run the GitHub App server: webhooks on " + server.WebhookPath + ", /healthz, /readyz and /metrics.\n" +
			"Every config key can be overridden from the environment (GITHUB_* for the github section, SLIPWAY_* for the rest).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath, os.Environ())
			if err != nil {
				return err
			}
			log, err := logging.New(os.Stdout, cfg.Server.LogLevel)
			if err != nil {
				return err
			}
			srv, err := server.New(cfg, log)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Server.Address)
			if err != nil {
				return fmt.Errorf("server.address: %w", err)
			}
			log.Info().Str("version", version.String()).Msg("slipway starting")
			return srv.Serve(cmd.Context(), ln)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "server config file (YAML)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
