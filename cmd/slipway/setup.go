package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/gh/setup"
)

func newSetup() *cobra.Command {
	var (
		opts         setup.Options
		listen       string
		manifestPath string
		inlineKey    bool
	)
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Register slipway's GitHub App from its manifest and write the server config",
		Long: "Serve a page on --listen that sends slipway's App manifest (app.yml) to GitHub's registration page.\n" +
			"After you confirm on GitHub, it comes back to the page, which fetches the new App's ID, webhook secret\n" +
			"and private key and writes them as a server config to --out (mode 0600), the key to --key-out unless\n" +
			"--inline-key. Existing files are not overwritten without --force. Secrets are never printed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, data := "app.yml (built in)", slipway.AppManifest
			if manifestPath != "" {
				var err error
				if data, err = os.ReadFile(manifestPath); err != nil {
					return fmt.Errorf("--manifest: %w", err)
				}
				name = manifestPath
			}
			m, err := setup.ParseManifest(name, data)
			if err != nil {
				return err
			}
			opts.Manifest = m
			switch {
			case inlineKey && opts.KeyOut != "":
				return fmt.Errorf("--inline-key puts the key in the config; drop --key-out or --inline-key")
			case !inlineKey && opts.KeyOut == "":
				opts.KeyOut = strings.TrimSuffix(opts.Out, filepath.Ext(opts.Out)) + ".private-key.pem"
			}
			opts.Log = zerolog.New(zerolog.ConsoleWriter{Out: cmd.ErrOrStderr(), NoColor: true}).With().Timestamp().Logger()

			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			defer ln.Close()
			out := cmd.OutOrStdout()
			where := opts.WebURL
			if opts.Org != "" {
				where += " for the organization " + opts.Org
			}
			fmt.Fprintf(out, "Open %s in a browser to register the GitHub App on %s.\n", setup.PageURL(ln.Addr()), where)

			res, err := setup.Run(cmd.Context(), ln, opts)
			if res != nil {
				fmt.Fprintf(out, "Registered the GitHub App %s (ID %d): %s\n", res.Slug, res.AppID, res.HTMLURL)
				fmt.Fprintf(out, "Wrote the server config to %s (mode 0600).\n", res.Config)
				if res.Key != "" {
					fmt.Fprintf(out, "Wrote the private key to %s (mode 0600).\n", res.Key)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Next: install the App (%s), add your clusters to %s, then run slipway serve -c %s.\n",
				res.InstallURL(), res.Config, res.Config)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:3000", "address of the local registration page (GitHub redirects the browser back to it)")
	f.StringVar(&opts.WebURL, "github-url", config.DefaultWebURL, "GitHub's web URL (GitHub Enterprise: https://HOST)")
	f.StringVar(&opts.V3APIURL, "api-url", config.DefaultV3APIURL, "GitHub's REST API URL (GitHub Enterprise: https://HOST/api/v3/)")
	f.StringVar(&opts.Org, "org", "", "register the App on this organization instead of your account")
	f.StringVar(&opts.Name, "name", "", "the App's name (default: the manifest's; names are unique across GitHub)")
	f.StringVar(&opts.PublicURL, "public-url", "", "slipway's public URL: the App's webhook URL becomes URL/api/github/hook")
	f.StringVar(&manifestPath, "manifest", "", "App manifest file (default: the app.yml built into slipway)")
	f.StringVarP(&opts.Out, "out", "o", "slipway.yaml", "server config file to write")
	f.StringVar(&opts.KeyOut, "key-out", "", "private key file to write (default: --out's name with .private-key.pem)")
	f.BoolVar(&inlineKey, "inline-key", false, "put the private key in the server config instead of a file")
	f.BoolVar(&opts.Force, "force", false, "overwrite --out and --key-out if they exist")
	return cmd
}
