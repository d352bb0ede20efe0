package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/chartsrc"
)

func TestHelmRepositories(t *testing.T) {
	good := "github:\n  app:\n    integration_id: 7\n    webhook_secret: s3cret\n    private_key_path: " + writeKey(t) + "\n"
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("file-pw"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		yaml    string
		env     []string
		want    chartsrc.Options
		wantErr []string
	}{
		{name: "defaults: nothing allowed", yaml: good, want: chartsrc.Options{MaxCacheSize: 256 << 20, MaxDownload: 32 << 20}},
		{name: "sources and credentials", yaml: good + "helm:\n  cache_dir: /var/cache/charts\n  cache_max_size: 2Gi\n  max_download: 8Mi\n  repositories:\n" +
			"    - url: https://charts.example.com\n" +
			"    - url: oci://registry.example.com/charts\n      username_env: REG_USER\n      password_env: REG_PW\n" +
			"    - url: https://private.example.com\n      username: bot\n      password_file: " + pwFile + "\n" +
			"    - url: oci://127.0.0.1:5000/charts\n      plain_http: true\n" +
			"    - url: oci://registry.example.com/payments\n      repos: [acme/payments, ops/*]\n",
			env: []string{"REG_USER=robot", "REG_PW=env-pw"},
			want: chartsrc.Options{CacheDir: "/var/cache/charts", MaxCacheSize: 2 << 30, MaxDownload: 8 << 20, Sources: []chartsrc.Source{
				{URL: "https://charts.example.com"},
				{URL: "oci://registry.example.com/charts", Username: "robot", Password: "env-pw"},
				{URL: "https://private.example.com", Username: "bot", PasswordFile: pwFile},
				{URL: "oci://127.0.0.1:5000/charts", PlainHTTP: true},
				{URL: "oci://registry.example.com/payments", Repos: []string{"acme/payments", "ops/*"}},
			}}},
		{name: "from the environment", yaml: good, env: []string{"SLIPWAY_HELM_REPOSITORIES=[{url: https://charts.example.com}]", "SLIPWAY_HELM_CACHE_DIR=/c"},
			want: chartsrc.Options{CacheDir: "/c", MaxCacheSize: 256 << 20, MaxDownload: 32 << 20, Sources: []chartsrc.Source{{URL: "https://charts.example.com"}}}},
		{name: "bad entries", yaml: good + "helm:\n  cache_max_size: 1Ki\n  max_download: 10\n  repositories:\n" +
			"    - url: git://example.com/charts\n" +
			"    - url: https://a.example.com\n      username: bot\n" +
			"    - url: https://b.example.com\n      password_env: UNSET_PW\n      username: bot\n" +
			"    - url: https://c.example.com\n      username: bot\n      password_file: /nonexistent/pw\n" +
			"    - url: https://c.example.com/\n" +
			"    - url: https://d.example.com\n      plain_http: true\n" +
			"    - username: bot\n" +
			"    - url: https://e.example.com\n      repos: [acme, \"acme/[\"]\n",
			wantErr: []string{
				`slipway.yaml:7: helm.cache_max_size: must be at least 1Mi, got 1Ki`,
				`slipway.yaml:8: helm.max_download: must be at least 1Ki, got 10`,
				`slipway.yaml:10: helm.repositories[0].url: "git://example.com/charts" must be an https://, http:// or oci:// URL`,
				`slipway.yaml:11: helm.repositories[1]: give both a user name`,
				`helm.repositories[2].password_env: environment variable UNSET_PW is not set`,
				`helm.repositories[3].password_file: cannot read the password file`,
				`helm.repositories[4].url: is already listed at helm.repositories[3]`,
				`helm.repositories[5].url: "https://d.example.com": plain_http is for oci:// registries`,
				`helm.repositories[6].url: is required`,
				`helm.repositories[7].repos[0]: must look like owner/repo or owner/*, got "acme"`,
				`helm.repositories[7].repos[1]: must look like owner/repo or owner/*, got "acme/["`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("slipway.yaml", []byte(tt.yaml), tt.env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error\n%s\ndoes not contain\n%s", err, want)
					}
				}
				if strings.Contains(err.Error(), "file-pw") {
					t.Errorf("a password in an error: %s", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			got := c.ChartOptions()
			if got.CacheDir != tt.want.CacheDir || got.MaxCacheSize != tt.want.MaxCacheSize || got.MaxDownload != tt.want.MaxDownload || len(got.Sources) != len(tt.want.Sources) {
				t.Fatalf("options %+v, want %+v", got, tt.want)
			}
			for i := range got.Sources {
				if !reflect.DeepEqual(got.Sources[i], tt.want.Sources[i]) {
					t.Errorf("source %d: %+v, want %+v", i, got.Sources[i], tt.want.Sources[i])
				}
			}
		})
	}
}
