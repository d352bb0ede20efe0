package config

import (
	"os"
	"strings"
	"testing"
)

// A container configured by variables and Secrets runs `slipway serve`
// without a config file: the environment is the whole config.
func TestFromEnvironment(t *testing.T) {
	keyPath := writeKey(t)
	pemBytes, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	required := []string{"GITHUB_APP_INTEGRATION_ID=7", "GITHUB_APP_WEBHOOK_SECRET=s3cret", "GITHUB_APP_PRIVATE_KEY_PATH=" + keyPath}

	tests := []struct {
		name    string
		env     []string
		wantErr []string
		check   func(t *testing.T, c *Config)
	}{
		{
			name: "required keys only: defaults for the rest",
			env:  required,
			check: func(t *testing.T, c *Config) {
				if c.GitHub.App.IntegrationID != 7 || c.Server.Address != DefaultAddress || c.Store.Kind != StoreBolt || len(c.Clusters) != 0 {
					t.Errorf("decoded %+v", c)
				}
			},
		},
		{
			name: "the inline key, clusters and the store",
			env: []string{"GITHUB_APP_INTEGRATION_ID=7", "GITHUB_APP_WEBHOOK_SECRET=s3cret", "GITHUB_APP_PRIVATE_KEY=" + string(pemBytes),
				"SLIPWAY_CLUSTERS=[{name: home, in_cluster: true, repos: [{repo: acme/shop, namespaces: [shop]}]}]",
				"SLIPWAY_STORE_KIND=kubernetes", "SLIPWAY_STORE_NAMESPACE=platform", "SLIPWAY_SERVER_ADDRESS=:9000"},
			check: func(t *testing.T, c *Config) {
				if len(c.Clusters) != 1 || !c.Clusters[0].InCluster || c.Clusters[0].Repos[0].Repo != "acme/shop" ||
					c.Store.Kind != StoreKubernetes || c.Store.Namespace != "platform" || c.Server.Address != ":9000" {
					t.Errorf("decoded %+v", c)
				}
				key, err := c.PrivateKey()
				if err != nil || !strings.Contains(string(key), "RSA PRIVATE KEY") {
					t.Errorf("inline key not taken from GITHUB_APP_PRIVATE_KEY: %v", err)
				}
			},
		},
		{
			name: "nothing set: every required key named by its variable",
			wantErr: []string{
				"environment: GITHUB_APP_INTEGRATION_ID (github.app.integration_id): is required",
				"environment: GITHUB_APP_WEBHOOK_SECRET (github.app.webhook_secret): is empty",
				"environment: GITHUB_APP_PRIVATE_KEY (github.app.private_key): is required",
			},
		},
		{
			name:    "a bad cluster names the list variable",
			env:     append(required, "SLIPWAY_CLUSTERS=[{name: prod, in_cluster: false, repos: [acme/shop]}]"),
			wantErr: []string{"environment: SLIPWAY_CLUSTERS (clusters[0].kubeconfig): is required unless in_cluster is true"},
		},
		{
			// yaml.Unmarshal would drop the misspelt key, leaving a cluster
			// without its kubeconfig or, worse, without its bounds.
			name:    "a misspelt key in a list variable is an error, not dropped",
			env:     append(required, "SLIPWAY_CLUSTERS=[{name: prod, in_cluster: true, repos: [{repo: acme/shop, namespace: [shop]}]}]"),
			wantErr: []string{`SLIPWAY_CLUSTERS:1: clusters[0].repos[0].namespace: unknown key (did you mean "namespaces"?)`},
		},
		{
			name:    "a list variable that is not a list",
			env:     append(required, "SLIPWAY_UNLOCKERS=carol"),
			wantErr: []string{"SLIPWAY_UNLOCKERS:1: unlockers: expected a list"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnvironment(tt.env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error\n%s\ndoes not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{
		"github.app.webhook_secret": "GITHUB_APP_WEBHOOK_SECRET",
		"github.v3_api_url":         "GITHUB_V3_API_URL",
		"server.address":            "SLIPWAY_SERVER_ADDRESS",
		"clusters[2].repos[0]":      "SLIPWAY_CLUSTERS",
		"store.lease_duration":      "SLIPWAY_STORE_LEASE_DURATION",
	} {
		if got := EnvName(key); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}
