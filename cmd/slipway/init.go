package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/reconciler"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

func newInit() *cobra.Command {
	var (
		repo, kubeconfig, kubeContext, clusterName, out string
		fromCluster, force                              bool
		repository                                      repositoryFlag
	)
	cmd := &cobra.Command{
		Use:   "init --from-cluster",
		Short: "Write .slipway.yaml environments from the Flux and Argo CD objects that deploy this repository",
		Long: "Read the Flux Kustomizations and HelmReleases (through their GitRepository, or applied by such a Kustomization)\n" +
			"and the Argo CD Applications a cluster holds, and write one environment for each that deploys this repository:\n" +
			"its path, namespace and reconciler. Review the result, add policy, and commit it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !fromCluster {
				return errors.New("slipway init only writes a config from a cluster's reconcilers: pass --from-cluster (see the README for a config by hand)")
			}
			name := clusterName
			if name == "" {
				name = kubeContext
			}
			if name == "" {
				return errors.New("name the cluster as the server config names it: --cluster NAME (or pass --context, whose name is used)")
			}
			full, err := repository.resolve(cmd.Context(), repo)
			if err != nil {
				return err
			}
			rc, err := kube.FromKubeconfig(kubeconfig, kubeContext)
			if err != nil {
				return err
			}
			c, err := client.New(rc, client.Options{})
			if err != nil {
				return fmt.Errorf("connect to the cluster: %w", err)
			}
			envs, err := reconciler.Discover(cmd.Context(), c, full, name)
			if err != nil {
				return err
			}
			if len(envs) == 0 {
				return fmt.Errorf("no Flux Kustomization or HelmRelease (through a GitRepository, or applied by such a Kustomization) and no Argo CD Application on that cluster deploys %s", full)
			}
			text := reconciler.WriteConfig(envs)
			if _, err := repoconfig.Parse(repoconfig.FileName, []byte(text)); err != nil {
				return fmt.Errorf("the config written from the cluster does not parse; this is a bug in slipway, please report it: %w", err)
			}
			if out == "-" {
				_, err := fmt.Fprint(cmd.OutOrStdout(), text)
				return err
			}
			if out == "" {
				out = filepath.Join(repo, repoconfig.FileName)
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o644)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists: pass --force to replace it, or --out - to print", out)
			}
			if err != nil {
				return err
			}
			if _, err := f.WriteString(text); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d environments to %s\n", len(envs), out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&fromCluster, "from-cluster", false, "discover the environments from the cluster's Flux and Argo CD objects")
	cmd.Flags().StringVar(&repo, "repo", ".", "repository checkout to write .slipway.yaml into")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&kubeContext, "context", "", "kubeconfig context of the cluster (default: the current one)")
	cmd.Flags().StringVar(&clusterName, "cluster", "", "the cluster's name in the server config, written into each environment (default: --context)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (default: REPO/.slipway.yaml; - prints it)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file")
	repository.register(cmd)
	return cmd
}
