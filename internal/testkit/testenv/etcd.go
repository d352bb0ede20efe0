package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// startEtcd runs a single-member etcd with its data in dir and returns it
// with its client URL once it reports healthy.
func startEtcd(ctx context.Context, dir, binDir string) (*Process, string, error) {
	type result struct {
		p   *Process
		url string
	}
	r, err := retryOnPortRace(func() (result, error) {
		p, url, err := startEtcdOnce(ctx, dir, binDir)
		return result{p, url}, err
	})
	return r.p, r.url, err
}

func startEtcdOnce(ctx context.Context, dir, binDir string) (*Process, string, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	clientURL := "http://" + hostPort(clientPort)
	peerURL := "http://" + hostPort(peerPort)
	dataDir := filepath.Join(dir, "etcd-data")
	// A data dir left by a lost port race would make etcd rejoin with the old
	// peer URL; start clean.
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, "", fmt.Errorf("testenv: clean etcd data dir: %w", err)
	}
	args := []string{
		"--name", "default",
		"--data-dir", dataDir,
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default=" + peerURL,
		// The data dies with the test; durability only costs time.
		"--unsafe-no-fsync",
		"--log-level", "warn",
	}
	p, err := StartProcess(dir, "etcd", filepath.Join(binDir, binEtcd), args, os.Environ())
	if err != nil {
		return nil, "", err
	}
	err = waitFor(ctx, "etcd to become healthy", func(ctx context.Context) error {
		return etcdHealthy(ctx, clientURL)
	}, p)
	if err != nil {
		p.stop()
		return nil, "", err
	}
	return p, clientURL, nil
}

// etcdHealthy asks etcd's /health endpoint, which answers 200 with
// {"health":"true"} once the member has a leader and serves requests.
func etcdHealthy(ctx context.Context, clientURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("etcd /health: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
