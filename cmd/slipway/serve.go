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
		Long: "Run the GitHub App server: webhooks on " + server.WebhookPath + ", /healthz and /readyz on server.address, /metrics on server.metrics_address.\n" +
			"Every config key can be overridden from the environment (GITHUB_* for the github section, SLIPWAY_* for the rest;\n" +
			"a list such as clusters as YAML in SLIPWAY_CLUSTERS). Without --config the environment is the whole config.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			log, err := logging.New(os.Stdout, cfg.Server.LogLevel)
			if err != nil {
				return err
			}
			logging.RouteKlog(log)
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
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "server config file (YAML); without it, the config comes from the environment alone")
	return cmd
}

// loadConfig reads the server config file, or with none the environment,
// which then must carry every required key (a container whose settings
// are all variables and Secrets needs no config file to mount).
func loadConfig(path string) (*config.Config, error) {
	if path != "" {
		return config.Load(path, os.Environ())
	}
	cfg, err := config.FromEnvironment(os.Environ())
	if err != nil {
		return nil, fmt.Errorf("no --config given, so the server config comes from the environment alone; set these variables or pass --config FILE:\n%w", err)
	}
	return cfg, nil
}
