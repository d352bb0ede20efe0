package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// apiServer is a running kube-apiserver.
type apiServer struct {
	proc  *Process
	host  string // https://127.0.0.1:port
	caPEM []byte // the self-signed CA of its serving certificate
}

// apiServerConfig is what kube-apiserver needs from the rest of the env.
type apiServerConfig struct {
	dir, binDir string
	etcdURL     string
	keys        serviceAccountKeys
	tokenFile   string
	token       string
}

// serviceClusterIPRange is small because nothing here needs many Services,
// and fixed so tests can predict the kubernetes Service IP (10.0.0.1).
const serviceClusterIPRange = "10.0.0.0/24"

// startAPIServer runs kube-apiserver against etcd and waits for /readyz,
// which includes the RBAC and priority-and-fairness bootstrap.
func startAPIServer(ctx context.Context, c apiServerConfig) (*apiServer, error) {
	return retryOnPortRace(func() (*apiServer, error) { return startAPIServerOnce(ctx, c) })
}

func startAPIServerOnce(ctx context.Context, c apiServerConfig) (*apiServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(c.dir, "apiserver-certs")
	// A lost port race leaves a certificate for the old port's attempt; it
	// would still be valid, but starting clean keeps attempts independent.
	if err := os.RemoveAll(certDir); err != nil {
		return nil, fmt.Errorf("testenv: clean apiserver cert dir: %w", err)
	}
	args := []string{
		"--etcd-servers", c.etcdURL,
		"--bind-address", "127.0.0.1",
		// Advertise loopback rather than the machine's own address, and so
		// do not publish it as the "kubernetes" Service's endpoints: the
		// endpoint reconciler refuses loopback addresses, and nothing here
		// reaches the apiserver through that Service.
		"--advertise-address", "127.0.0.1",
		"--endpoint-reconciler-type", "none",
		"--secure-port", strconv.Itoa(port),
		// The apiserver generates a self-signed serving cert (and its CA) here.
		"--cert-dir", certDir,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", c.keys.publicKeyPath,
		"--service-account-signing-key-file", c.keys.privateKeyPath,
		"--token-auth-file", c.tokenFile,
		// RBAC, as in real clusters, so code under test that creates Roles
		// and bindings is checked the way production checks it.
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", serviceClusterIPRange,
		"--profiling=false",
	}
	p, err := StartProcess(c.dir, "kube-apiserver", filepath.Join(c.binDir, binAPIServer), args, os.Environ())
	if err != nil {
		return nil, err
	}
	host := "https://" + hostPort(port)
	certPath := filepath.Join(certDir, "apiserver.crt")
	var caPEM []byte
	err = waitFor(ctx, "kube-apiserver /readyz", func(ctx context.Context) error {
		if caPEM == nil {
			data, err := os.ReadFile(certPath)
			if err != nil {
				return fmt.Errorf("serving certificate not written yet: %w", err)
			}
			if caPEM, err = caFromServingBundle(data); err != nil {
				return err
			}
		}
		return apiServerReady(ctx, host, c.token, caPEM)
	}, p)
	if err != nil {
		p.stop()
		return nil, err
	}
	return &apiServer{proc: p, host: host, caPEM: caPEM}, nil
}

// apiServerReady asks /readyz over TLS, trusting only caPEM: this checks the
// same trust path every client of the env will use.
func apiServerReady(ctx context.Context, host, token string, caPEM []byte) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("no certificate in apiserver.crt")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
