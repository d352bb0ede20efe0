package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Flux's controllers and CRDs, as tools/testbin/flux.sh puts them into the
// testbin directory.
const (
	binSourceController    = "source-controller"
	binKustomizeController = "kustomize-controller"
	fileFluxCRDs           = "flux-crds.yaml"
)

// Flux is Flux's source-controller and kustomize-controller running
// against an Env, watching every namespace, as a real cluster runs them.
type Flux struct {
	procs []*Process
}

// StartFlux installs Flux's CRDs in e and starts source-controller and
// kustomize-controller against it, logging into dir (source-controller.log,
// kustomize-controller.log). source-controller serves the artifacts it
// fetches on a loopback port, where kustomize-controller downloads them.
// Stop ends both.
func (e *Env) StartFlux(ctx context.Context, dir string) (*Flux, error) {
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range []string{binSourceController, binKustomizeController, fileFluxCRDs} {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("testenv: missing Flux test binaries in %s: %s; %s", binDir, strings.Join(missing, ", "), buildHint)
	}
	if err := e.InstallCRDs(ctx, filepath.Join(binDir, fileFluxCRDs)); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "flux.kubeconfig")
	if err := os.WriteFile(kubeconfig, e.KubeconfigBytes(), 0o600); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	environ := []string{"KUBECONFIG=" + kubeconfig, "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	ports := make([]int, 5)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	storage := filepath.Join(dir, "artifacts")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	f := &Flux{}
	common := []string{"--enable-leader-election=false", "--log-level=debug", "--watch-all-namespaces=true"}
	source, err := StartProcess(dir, binSourceController, filepath.Join(binDir, binSourceController), append(common,
		"--metrics-addr="+hostPort(ports[0]), "--health-addr="+hostPort(ports[1]),
		"--storage-path="+storage, "--storage-addr="+hostPort(ports[2]), "--storage-adv-addr="+hostPort(ports[2]),
	), environ)
	if err != nil {
		return nil, err
	}
	f.procs = append(f.procs, source)
	kustomize, err := StartProcess(dir, binKustomizeController, filepath.Join(binDir, binKustomizeController), append(common,
		"--metrics-addr="+hostPort(ports[3]), "--health-addr="+hostPort(ports[4]), "--no-remote-bases=true",
	), environ)
	if err != nil {
		f.Stop()
		return nil, err
	}
	f.procs = append(f.procs, kustomize)
	if err := f.waitHealthy(ctx, ports[1], ports[4]); err != nil {
		f.Stop()
		return nil, err
	}
	return f, nil
}

// waitHealthy waits until both controllers answer their health probes.
func (f *Flux) waitHealthy(ctx context.Context, ports ...int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for i, port := range ports {
		url := "http://" + hostPort(port) + "/healthz"
		for {
			if err := f.procs[i].crashErr(); err != nil {
				return err
			}
			if ok, _ := httpOK(ctx, url); ok {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("testenv: %s not healthy on port %s: %w; log ends with:\n%s", f.procs[i].name, strconv.Itoa(port), ctx.Err(), f.procs[i].LogTail())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// Logs is the tail of each controller's log, for a failing test's output.
func (f *Flux) Logs() string {
	var b strings.Builder
	for _, p := range f.procs {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", p.name, p.LogTail())
	}
	return b.String()
}

// Stop ends the controllers (only the processes StartFlux started).
func (f *Flux) Stop() {
	for i := len(f.procs) - 1; i >= 0; i-- {
		f.procs[i].stop()
	}
}

// httpOK reports whether a GET of url answers 200.
func httpOK(ctx context.Context, url string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}
