package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/chartsrc"
	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/plan"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Exit codes of `slipway plan`, like `terraform plan -detailed-exitcode`.
const (
	exitNoChanges = 0
	exitError     = 1
	exitChanges   = 2
)

// exitCode carries a non-error exit status out of a command.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newPlan() *cobra.Command {
	var (
		repo, output string
		clusters     clusterFlags
		repository   repositoryFlag
	)
	cmd := &cobra.Command{
		Use:   "plan [ENV...]",
		Short: "Show what applying the repository's environments would change in their clusters",
		Long: "Render the environments of DIR/.slipway.yaml and diff them against the live clusters by server-side\n" +
			"apply in dry-run. Without --config, an environment's cluster is the kubeconfig context of that name.\n" +
			"Exit status: 0 nothing would change, 2 something would, 1 error.",
		RunE: func(cmd *cobra.Command, args []string) error {
			softMemoryLimit()
			if output != "text" && output != "markdown" && output != "json" {
				return fmt.Errorf("--output must be text, markdown or json, got %q", output)
			}
			cfg, err := loadRepoConfig(repo)
			if err != nil {
				return err
			}
			names, err := selectEnvironments(cfg, args)
			if err != nil {
				return err
			}
			targets, err := clusters.targets()
			if err != nil {
				return err
			}
			full, err := repository.resolve(cmd.Context(), repo)
			if err != nil {
				return err
			}
			ropts, err := clusters.renderOptions()
			if err != nil {
				return err
			}
			plans, err := workflow.PlanEnvironments(cmd.Context(), repo, cfg, names, commitOf(cmd.Context(), repo), targets, workflow.PlanOptions{Repository: full, Render: ropts, Limits: clusters.limits()})
			if err != nil {
				return err
			}
			if err := writePlans(cmd.OutOrStdout(), plans, output); err != nil {
				return err
			}
			return planExit(plans)
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "repository checkout holding .slipway.yaml")
	repository.register(cmd)
	clusters.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text, markdown or json")
	return cmd
}

// planMemoryLimit keeps a plan of tens of thousands of objects within a
// CI runner's memory: the garbage collector works harder as the heap nears
// it instead of letting it double. A plan of 10,000 objects keeps about
// 110 MiB live at most (the rendered objects and the copies it sends); at
// this limit it peaks at about 260 MiB resident (the binary's code
// included), against 290 MiB at 224 MiB, in about the same time (3.3 s;
// 4.5 s at 160 MiB, where the collector runs all the time). GOMEMLIMIT,
// when set, wins.
const planMemoryLimit = 192 << 20

// planGCPercent lets the heap grow to five times what is live before the
// collector runs, rather than twice: under planMemoryLimit that only
// changes plans that stay well below it, which the collector otherwise
// walks several times for nothing (apply of 1,000 objects after 100
// changed: about 30 ms of CPU less, and 10% sooner, on two cores the API
// server shares). GOGC, when set, wins.
const planGCPercent = 400

func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(planMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(planGCPercent)
	}
}

func loadRepoConfig(repo string) (*repoconfig.Config, error) {
	path := filepath.Join(repo, repoconfig.FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return repoconfig.Parse(path, data)
}

func selectEnvironments(cfg *repoconfig.Config, args []string) ([]string, error) {
	if len(args) == 0 {
		return cfg.Names(), nil
	}
	for _, name := range args {
		if _, ok := cfg.Environment(name); !ok {
			return nil, fmt.Errorf("no environment %q in %s (environments: %s)", name, cfg.Source(), strings.Join(cfg.Names(), ", "))
		}
	}
	return args, nil
}

// clusterFlags say how the CLI reaches the environments' clusters; plan and
// apply share them.
type clusterFlags struct {
	serverConfig, kubeconfig, context string
	srv                               *config.Config // loaded by targets, with --config
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.serverConfig, "config", "c", "", "server config naming the clusters (default: kubeconfig contexts)")
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&f.context, "context", "", "kubeconfig context to use for every environment (default: the context named like the environment's cluster)")
}

// limits bound each render: the server config's when targets loaded one
// (as the server would render), else the defaults.
func (f *clusterFlags) limits() renderproc.Limits {
	if f.srv == nil {
		return renderproc.Limits{}
	}
	return f.srv.RenderLimits()
}

// renderOptions fetch charts as the server would, from the server
// config's helm.repositories, when targets loaded one; without it charts
// from outside the repository are not fetched.
func (f *clusterFlags) renderOptions() (render.Options, error) {
	if f.srv == nil {
		return render.Options{}, nil
	}
	fetcher, err := chartsrc.New(f.srv.ChartOptions())
	if err != nil {
		return render.Options{}, err
	}
	return render.Options{Fetch: renderproc.Fetcher(fetcher)}, nil
}

// targets resolves clusters through the server config when given, else as
// kubeconfig contexts: --context, or the one named like the cluster.
func (f *clusterFlags) targets() (kube.Targets, error) {
	var srv *config.Config
	if f.serverConfig != "" {
		if f.context != "" {
			return nil, fmt.Errorf("--context picks a kubeconfig context; with --config the server config names each cluster's")
		}
		var err error
		if srv, err = config.Load(f.serverConfig, os.Environ()); err != nil {
			return nil, err
		}
		f.srv = srv
	}
	// With a server config the CLI masks Secret values as the server does.
	// Without one it has no shared secret, so one random key serves this
	// process: masks still compare within its report, and mean nothing
	// outside it.
	opts := plan.Options{MaskKey: plan.RandomMaskKey()}
	if srv != nil {
		opts.MaskKey = srv.MaskKey()
	}
	connect := kube.KubeconfigContexts(f.kubeconfig, f.context)
	if srv != nil {
		connect = kube.ServerClusters(srv)
	}
	// As the server does: an environment with a service account is planned
	// as that account, so the plan shows what it may do, not the caller.
	return kube.NewTargetCache(kube.Connected(connect, opts)), nil
}

// commitOf names what is being planned: the checkout's HEAD, marked dirty
// when the work tree has changes, or "working tree" outside git.
func commitOf(ctx context.Context, repo string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		return "working tree"
	}
	sha := strings.TrimSpace(string(out))
	if status, err := exec.CommandContext(ctx, "git", "-C", repo, "status", "--porcelain").Output(); err == nil && len(status) > 0 {
		return sha + "-dirty"
	}
	return sha
}

func writePlans(w io.Writer, plans []*plan.Plan, output string) error {
	switch output {
	case "json":
		return report.JSON(w, plans)
	case "markdown":
		_, err := io.WriteString(w, strings.Join(report.Markdown(plans, report.MarkdownOptions{}), "\n\n"))
		return err
	default:
		color := false
		if f, ok := w.(*os.File); ok {
			color = report.IsTerminal(f) && os.Getenv("NO_COLOR") == ""
		}
		return report.Text(w, plans, report.TextOptions{Color: color})
	}
}

func planExit(plans []*plan.Plan) error {
	code := exitNoChanges
	for _, p := range plans {
		switch {
		case p.Err != "" || p.Counts().Error > 0:
			return exitCode(exitError)
		case p.HasChanges():
			code = exitChanges
		}
	}
	if code != exitNoChanges {
		return exitCode(code)
	}
	return nil
}

// isExitCode reports a status a command chose rather than a failure.
func isExitCode(err error) (int, bool) {
	var code exitCode
	if errors.As(err, &code) {
		return int(code), true
	}
	return 0, false
}
