package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// writeKey writes a fresh RSA key in PEM and returns its path.
func writeKey(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(p, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	keyPath := writeKey(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := "github:\n  app:\n    integration_id: 7\n    webhook_secret: s3cret\n    private_key_path: " + keyPath + "\n"

	tests := []struct {
		name    string
		yaml    string
		env     []string
		wantErr []string
		check   func(t *testing.T, c *Config)
	}{
		{
			name: "minimal config gets defaults",
			yaml: good,
			check: func(t *testing.T, c *Config) {
				if c.Server.Address != DefaultAddress || c.Server.Workers != DefaultWorkers || c.Store.Kind != StoreBolt ||
					time.Duration(c.Server.ShutdownTimeout) != DefaultShutdownTimeout || c.GitHub.V3APIURL != DefaultV3APIURL {
					t.Errorf("defaults not applied: %+v", c)
				}
			},
		},
		{
			name: "full config",
			yaml: good + "server:\n  address: 127.0.0.1:9000\n  workers: 2\n  queue_size: 5\n  shutdown_timeout: 5s\n" +
				"clusters:\n  - name: staging\n    kubeconfig: " + kubeconfig + "\n    repos: [\"acme/*\"]\n  - name: prod\n    in_cluster: true\n    repos: [acme/shop]\n" +
				"store:\n  kind: kubernetes\n  namespace: ops\n",
			check: func(t *testing.T, c *Config) {
				if c.Server.Address != "127.0.0.1:9000" || c.Server.QueueSize != 5 || len(c.Clusters) != 2 || c.Clusters[1].Repos[0].Repo != "acme/shop" || !c.Clusters[1].Repos[0].Bare || c.Store.Namespace != "ops" {
					t.Errorf("decoded %+v", c)
				}
			},
		},
		{
			name: "environment overrides file",
			yaml: good + "server:\n  address: :1\n",
			env: []string{
				"SLIPWAY_SERVER_ADDRESS=:2", "SLIPWAY_SERVER_WORKERS=9", "SLIPWAY_SERVER_SHUTDOWN_TIMEOUT=1m",
				"GITHUB_APP_WEBHOOK_SECRET=from-env", "GITHUB_V3_API_URL=https://ghe.example.com/api/v3",
				"SLIPWAY_CLUSTERS=[{name: c, in_cluster: true, repos: [a/b]}]", "SLIPWAY_STORE_KIND=kubernetes",
			},
			check: func(t *testing.T, c *Config) {
				if c.Server.Address != ":2" || c.Server.Workers != 9 || time.Duration(c.Server.ShutdownTimeout) != time.Minute ||
					c.GitHub.App.WebhookSecret != "from-env" || c.Clusters[0].Name != "c" || c.Store.Kind != StoreKubernetes {
					t.Errorf("overrides not applied: %+v", c)
				}
				if c.GitHub.V3APIURL != "https://ghe.example.com/api/v3" {
					t.Errorf("v3 URL not taken from the environment, got %q", c.GitHub.V3APIURL)
				}
				key, err := c.PrivateKey()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(key), "RSA PRIVATE KEY") {
					t.Error("private key not read from private_key_path")
				}
			},
		},
		{name: "unknown key names file, line and key", yaml: good + "server:\n  adress: :1\n", wantErr: []string{`slipway.yaml:7: server.adress: unknown key (did you mean "address"?)`}},
		{name: "missing integration_id", yaml: "github:\n  app:\n    webhook_secret: s\n    private_key_path: " + keyPath + "\n", wantErr: []string{"github.app.integration_id: is required"}},
		{name: "empty webhook secret refused", yaml: "github:\n  app:\n    integration_id: 7\n    private_key_path: " + keyPath + "\n", wantErr: []string{"github.app.webhook_secret: is empty: slipway refuses to start"}},
		{name: "webhook secret emptied by environment", yaml: good, env: []string{"GITHUB_APP_WEBHOOK_SECRET="}, wantErr: []string{"github.app.webhook_secret"}},
		{name: "unreadable key file", yaml: "github:\n  app:\n    integration_id: 7\n    webhook_secret: s\n    private_key_path: /nonexistent/key.pem\n", wantErr: []string{"slipway.yaml:5: github.app.private_key_path: cannot read the key file: open /nonexistent/key.pem: no such file or directory"}},
		{name: "key that is not PEM", yaml: "github:\n  app:\n    integration_id: 7\n    webhook_secret: s\n    private_key: nope\n", wantErr: []string{"github.app.private_key: is not a PEM-encoded private key"}},
		{name: "both key forms", yaml: good + "    private_key: x\n", wantErr: []string{"set either private_key or private_key_path"}},
		{name: "wrong type", yaml: good + "server:\n  workers: lots\n", wantErr: []string{`slipway.yaml:7: server.workers: expected an integer, got "lots"`}},
		{name: "bad duration", yaml: good + "server:\n  shutdown_timeout: forever\n", wantErr: []string{"server.shutdown_timeout", "expected a duration"}},
		{name: "bad env value names the variable", yaml: good, env: []string{"SLIPWAY_SERVER_WORKERS=x"}, wantErr: []string{"environment variable SLIPWAY_SERVER_WORKERS: expected an integer"}},
		{name: "cluster problems name the index", yaml: good + "clusters:\n  - name: a\n    repos: [acme]\n  - name: a\n    in_cluster: true\n    repos: [x/y]\n", wantErr: []string{
			"slipway.yaml:7: clusters[0].kubeconfig: is required unless in_cluster is true",
			"slipway.yaml:8: clusters[0].repos[0]: must look like owner/repo",
			"slipway.yaml:9: clusters[1].name: cluster \"a\" is defined twice",
		}},
		{name: "unreadable kubeconfig", yaml: good + "clusters:\n  - name: a\n    kubeconfig: /nope\n    repos: [a/b]\n", wantErr: []string{"clusters[0].kubeconfig: cannot read the kubeconfig"}},
		{name: "short mask key", yaml: good + "server:\n  mask_key: short\n", wantErr: []string{"slipway.yaml:7: server.mask_key: is 5 characters; use at least 32"}},
		{name: "short mask key from the environment", yaml: good, env: []string{"SLIPWAY_SERVER_MASK_KEY=short"}, wantErr: []string{"server.mask_key: is 5 characters"}},
		{name: "unknown store kind", yaml: good + "store:\n  kind: redis\n", wantErr: []string{`store.kind: must be "bolt" or "kubernetes", got "redis"`}},
		{
			name: "github limits from file and environment",
			yaml: good + "  max_retry_wait: 30s\n",
			env:  []string{"GITHUB_MAX_CONCURRENT_REQUESTS=3"},
			check: func(t *testing.T, c *Config) {
				if g := c.GitHub; time.Duration(g.MaxRetryWait) != 30*time.Second || g.MaxConcurrentRequests != 3 {
					t.Errorf("github limits: max_retry_wait %s, max_concurrent_requests %d", time.Duration(g.MaxRetryWait), g.MaxConcurrentRequests)
				}
			},
		},
		{name: "github limit defaults", yaml: good, check: func(t *testing.T, c *Config) {
			if time.Duration(c.GitHub.MaxRetryWait) != DefaultMaxRetryWait || c.GitHub.MaxConcurrentRequests != DefaultMaxConcurrent {
				t.Errorf("defaults %+v", c.GitHub)
			}
		}},
		{name: "max_retry_wait too short", yaml: good + "  max_retry_wait: 0s\n", wantErr: []string{"slipway.yaml:6: github.max_retry_wait: must be at least 1s"}},
		{name: "no concurrent requests", yaml: good, env: []string{"GITHUB_MAX_CONCURRENT_REQUESTS=0"}, wantErr: []string{"github.max_concurrent_requests: must be at least 1, got 0"}},
		{
			name: "kubernetes store on a named cluster",
			yaml: good + "clusters:\n  - name: staging\n    kubeconfig: " + kubeconfig + "\n    repos: [\"acme/*\"]\n" +
				"store:\n  kind: kubernetes\n  cluster: staging\n",
			env: []string{"SLIPWAY_STORE_LEASE_DURATION=20s"},
			check: func(t *testing.T, c *Config) {
				if c.Store.Cluster != "staging" || c.Store.Namespace != DefaultStoreNamespace || time.Duration(c.Store.LeaseDuration) != 20*time.Second {
					t.Errorf("store decoded to %+v", c.Store)
				}
			},
		},
		{
			name: "kubernetes store in the cluster slipway runs in",
			yaml: good + "store:\n  kind: kubernetes\n",
			check: func(t *testing.T, c *Config) {
				if c.Store.Cluster != "" || time.Duration(c.Store.LeaseDuration) != DefaultLeaseDuration {
					t.Errorf("store decoded to %+v", c.Store)
				}
			},
		},
		{name: "store cluster must be defined", yaml: good + "clusters:\n  - name: staging\n    in_cluster: true\n    repos: [a/b]\nstore:\n  kind: kubernetes\n  cluster: prod\n",
			wantErr: []string{`slipway.yaml:12: store.cluster: no cluster "prod" in clusters (defined: "staging")`}},
		{name: "store cluster from the environment must be defined", yaml: good + "store:\n  kind: kubernetes\n", env: []string{"SLIPWAY_STORE_CLUSTER=prod"},
			wantErr: []string{`store.cluster: no cluster "prod" in clusters (defined: none)`}},
		{name: "lease duration too short", yaml: good + "store:\n  kind: kubernetes\n  lease_duration: 1s\n", wantErr: []string{"slipway.yaml:8: store.lease_duration: must be at least 3s, got 1s"}},
		{name: "store namespace must be a namespace name", yaml: good + "store:\n  kind: kubernetes\n  namespace: Ops_Team\n", wantErr: []string{`slipway.yaml:8: store.namespace: "Ops_Team" is not a namespace name`}},
		{
			name: "repos entries: bare strings and mappings",
			yaml: good + "clusters:\n  - name: prod\n    in_cluster: true\n    repos:\n      - acme/web\n" +
				"      - repo: acme/shop\n        namespaces: [shop-*, slipway]\n        cluster_scoped: [Namespace, ClusterRole.rbac.authorization.k8s.io]\n" +
				"        service_accounts: [shop-production/deployer, shop-*/deployer]\n        min_approvals: 2\n" +
				"        rules:\n          - name: no-latest\n            match: {kinds: [Deployment]}\n            expr: \"!object.spec.template.spec.containers.exists(c, c.image.endsWith(':latest'))\"\n",
			check: func(t *testing.T, c *Config) {
				cl := c.Clusters[0]
				if len(cl.Repos) != 2 || !cl.Repos[0].Bare || cl.Repos[0].Repo != "acme/web" {
					t.Fatalf("repos %+v", cl.Repos)
				}
				e, i, ok := cl.Entry("ACME/Shop")
				if !ok || i != 1 || e.Bare || e.Namespaces[1] != "slipway" || e.ClusterScoped[1] != "ClusterRole.rbac.authorization.k8s.io" ||
					e.ServiceAccounts[0] != "shop-production/deployer" || e.MinApprovals != 2 || e.Rules[0].Name != "no-latest" || e.Rules[0].Match.Kinds[0] != "Deployment" {
					t.Errorf("entry %d %+v", i, e)
				}
				if _, _, ok := cl.Entry("acme/other"); ok {
					t.Error("acme/other matched an entry")
				}
			},
		},
		{
			name: "first matching repos entry decides",
			yaml: good + "clusters:\n  - name: prod\n    in_cluster: true\n    repos:\n      - repo: acme/*\n        namespaces: [acme-*]\n      - acme/shop\n",
			check: func(t *testing.T, c *Config) {
				if e, i, _ := c.Clusters[0].Entry("acme/shop"); i != 0 || e.Bare {
					t.Errorf("acme/shop decided by entry %d %+v", i, e)
				}
			},
		},
		{
			name: "repos entries from the environment",
			yaml: good,
			env:  []string{"SLIPWAY_CLUSTERS=[{name: c, in_cluster: true, repos: [a/b, {repo: a/c, namespaces: [c]}]}]"},
			check: func(t *testing.T, c *Config) {
				if r := c.Clusters[0].Repos; len(r) != 2 || !r[0].Bare || r[1].Bare || r[1].Namespaces[0] != "c" {
					t.Errorf("repos %+v", r)
				}
			},
		},
		{name: "unknown key in a repos entry", yaml: good + "clusters:\n  - name: prod\n    in_cluster: true\n    repos:\n      - repo: acme/shop\n        namespace: [x]\n",
			wantErr: []string{`slipway.yaml:11: clusters[0].repos[0].namespace: unknown key (did you mean "namespaces"?)`}},
		{name: "repos entry values checked", yaml: good + "clusters:\n  - name: prod\n    in_cluster: true\n    repos:\n" +
			"      - repo: acme\n        namespaces: [x]\n" + // 10, 11
			"      - repo: acme/shop\n        namespaces: [Shop_Prod, \"[\"]\n        cluster_scoped: [\".rbac\"]\n" + // 12-14
			"        service_accounts: [deployer, kube-system/Admin, a/b/c]\n        min_approvals: -1\n" + // 15, 16
			"        rules:\n          - expr: \"object.spec +\"\n          - name: r\n            expr: \"true\"\n          - name: r\n            expr: \"1\"\n" + // 17-22
			"      - repo: acme/web\n", // 23
			wantErr: []string{
				`slipway.yaml:10: clusters[0].repos[0].repo: must look like owner/repo or owner/*, got "acme"`,
				`slipway.yaml:13: clusters[0].repos[1].namespaces[0]: "Shop_Prod" is not a valid name`,
				`slipway.yaml:13: clusters[0].repos[1].namespaces[1]: "[" is not a valid glob`,
				`slipway.yaml:14: clusters[0].repos[1].cluster_scoped[0]: must be a kind such as Namespace`,
				`slipway.yaml:15: clusters[0].repos[1].service_accounts[0]: must be NAMESPACE/NAME`,
				`slipway.yaml:15: clusters[0].repos[1].service_accounts[1]: service account "Admin" of "kube-system/Admin" is not a valid name`,
				`slipway.yaml:15: clusters[0].repos[1].service_accounts[2]: must be NAMESPACE/NAME`,
				`slipway.yaml:16: clusters[0].repos[1].min_approvals: must not be negative, got -1`,
				`slipway.yaml:18: clusters[0].repos[1].rules[0].name: is required`,
				`slipway.yaml:18: clusters[0].repos[1].rules[0].expr: Syntax error`,
				`slipway.yaml:21: clusters[0].repos[1].rules[2].name: rule "r" is defined twice in this entry`,
				`slipway.yaml:22: clusters[0].repos[1].rules[2].expr: must give true or false`,
				`slipway.yaml:23: clusters[0].repos[2].namespaces: list the namespaces acme/web may use (globs such as shop-*; ["*"] for any but slipway's own)`,
			}},
		{name: "repos entry of the wrong type", yaml: good + "clusters:\n  - name: prod\n    in_cluster: true\n    repos:\n      - [acme/shop]\n",
			wantErr: []string{"slipway.yaml:10: clusters[0].repos[0]:"}},
		{name: "unlockers", yaml: good + "unlockers: [carol, acme/sre-team]\n", check: func(t *testing.T, c *Config) {
			if len(c.Unlockers) != 2 || c.Unlockers[0] != "carol" || c.Unlockers[1] != "acme/sre-team" {
				t.Errorf("unlockers %v", c.Unlockers)
			}
		}},
		{name: "unlockers from the environment", yaml: good + "unlockers: [carol]\n", env: []string{"SLIPWAY_UNLOCKERS=[dana, acme/platform]"}, check: func(t *testing.T, c *Config) {
			if len(c.Unlockers) != 2 || c.Unlockers[0] != "dana" || c.Unlockers[1] != "acme/platform" {
				t.Errorf("unlockers %v", c.Unlockers)
			}
		}},
		{name: "no unlockers by default", yaml: good, check: func(t *testing.T, c *Config) {
			if len(c.Unlockers) != 0 {
				t.Errorf("unlockers %v", c.Unlockers)
			}
		}},
		{name: "unlockers must be logins or teams", yaml: good + "unlockers: [carol, \"\", a/b/c, \"@dana\"]\n", wantErr: []string{
			`slipway.yaml:6: unlockers[1]: must be a GitHub login or org/team, got ""`,
			`unlockers[2]: must be a GitHub login or org/team, got "a/b/c"`,
			`unlockers[3]: must be a GitHub login or org/team, got "@dana"`,
		}},
		{name: "relative v3 url", yaml: good + "  v3_api_url: api/v3\n", wantErr: []string{"github.v3_api_url: must be an absolute URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("slipway.yaml", []byte(tt.yaml), tt.env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error; config %+v", c)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error\n%s\ndoes not contain\n%s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// The example config in config/ is documentation; it must stay loadable.
func TestExampleConfigLoads(t *testing.T) {
	keyPath := writeKey(t)
	kubeconfig := filepath.Join(t.TempDir(), "staging.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../config/slipway.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example points at files under /etc/slipway; swap in real ones.
	text := strings.ReplaceAll(string(data), "/etc/slipway/private-key.pem", keyPath)
	text = strings.ReplaceAll(text, "/etc/slipway/staging.kubeconfig", kubeconfig)
	text = strings.ReplaceAll(text, "/etc/slipway/registry-password", kubeconfig) // any readable file
	c, err := Parse("slipway.example.yaml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHub.App.IntegrationID != 12345 || len(c.Clusters) != 2 || !c.Clusters[1].InCluster || len(c.Unlockers) != 1 || len(c.Helm.Repositories) != 2 {
		t.Errorf("example decoded to %+v", c)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("error %v should name the file", err)
	}
}

// TestMaskKey: replicas share the mask key (same config, same key), the
// environment sets it like any key, and the derived one is neither the
// webhook secret nor the same for another secret.
func TestMaskKey(t *testing.T) {
	keyPath := writeKey(t)
	parse := func(secret, maskKey string, env ...string) *Config {
		t.Helper()
		text := "github:\n  app:\n    integration_id: 7\n    webhook_secret: " + secret + "\n    private_key_path: " + keyPath + "\n"
		if maskKey != "" {
			text += "server:\n  mask_key: " + maskKey + "\n"
		}
		c, err := Parse("slipway.yaml", []byte(text), env)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const explicit = "0123456789abcdef0123456789abcdef"
	derived := parse("s3cret", "").MaskKey()
	for _, tc := range []struct {
		name string
		got  []byte
		same bool
	}{
		{"another replica, same config", parse("s3cret", "").MaskKey(), true},
		{"another webhook secret", parse("other", "").MaskKey(), false},
		{"server.mask_key set", parse("s3cret", explicit).MaskKey(), false},
		{"the webhook secret itself", []byte("s3cret"), false},
	} {
		if same := string(tc.got) == string(derived); same != tc.same {
			t.Errorf("%s: same key as derived %v, want %v", tc.name, same, tc.same)
		}
	}
	if len(derived) != 32 {
		t.Errorf("derived key has %d bytes, want 32", len(derived))
	}
	if got := parse("s3cret", explicit).MaskKey(); string(got) != explicit {
		t.Errorf("server.mask_key not used as the key: %q", got)
	}
	if got := parse("s3cret", "", "SLIPWAY_SERVER_MASK_KEY="+explicit).MaskKey(); string(got) != explicit {
		t.Errorf("SLIPWAY_SERVER_MASK_KEY not used as the key: %q", got)
	}
}

// A cluster list written back out (as the demo and tools that template the
// config do) keeps each entry's form: a bare string stays permissive.
func TestRepoEntriesRoundTrip(t *testing.T) {
	in := []Cluster{{Name: "prod", Repos: []RepoEntry{
		{Repo: "acme/shop", Bare: true},
		{Repo: "acme/web", Namespaces: []string{"web-*"}, ServiceAccounts: []string{"web-*/deployer"}, MinApprovals: 2},
	}}}
	out, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back []Cluster
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	// Compared as printed: an empty list may come back as nil.
	if len(back) != 1 || fmt.Sprintf("%+v", back[0].Repos) != fmt.Sprintf("%+v", in[0].Repos) {
		t.Errorf("round trip:\n%s\ngave %+v, want %+v", out, back, in)
	}
}
