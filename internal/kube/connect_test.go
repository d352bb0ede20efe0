package kube

import (
	"context"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/testkit/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{})) }

func TestResolveAndReachCluster(t *testing.T) {
	env := testenv.Get(t)
	cfg := config.Defaults()
	cfg.Clusters = []config.Cluster{{Name: "staging", Kubeconfig: env.Kubeconfig(), Context: "testenv", Repos: config.AnyNamespace("acme/*")}}

	tests := []struct {
		name    string
		resolve func() (*rest.Config, error)
		wantErr string
	}{
		{"server config cluster", func() (*rest.Config, error) { return FromServerConfig(cfg, "staging") }, ""},
		{"kubeconfig context", func() (*rest.Config, error) { return FromKubeconfig(env.Kubeconfig(), "testenv") }, ""},
		{"kubeconfig current context", func() (*rest.Config, error) { return FromKubeconfig(env.Kubeconfig(), "") }, ""},
		{"unknown server cluster", func() (*rest.Config, error) { return FromServerConfig(cfg, "prod") }, `cluster "prod" is not in the server config (clusters: [staging])`},
		{"unknown context", func() (*rest.Config, error) { return FromKubeconfig(env.Kubeconfig(), "nope") }, `kubeconfig context "nope"`},
		{"missing kubeconfig", func() (*rest.Config, error) { return FromKubeconfig("/nonexistent/kubeconfig", "") }, "/nonexistent/kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Host != env.Config().Host {
				t.Errorf("host %q, want %q", got.Host, env.Config().Host)
			}
		})
	}

	rc, err := FromServerConfig(cfg, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if rc.QPS != QPS || rc.Burst != Burst {
		t.Errorf("rate limits %v/%d, want %v/%d", rc.QPS, rc.Burst, QPS, Burst)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("resolved config cannot reach the cluster: %v", err)
	}
}
