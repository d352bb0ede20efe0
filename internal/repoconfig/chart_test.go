package repoconfig

import (
	"strings"
	"testing"
)

func TestHelmChart(t *testing.T) {
	env := "version: 1\nenvironments:\n  - name: a\n    path: a\n    cluster: c\n    helm:\n"
	tests := []struct {
		name    string
		helm    string
		want    ChartRef
		wantErr string
	}{
		{name: "oci string", helm: "      chart: oci://registry.example.com/charts/web\n      version: 1.4.2\n",
			want: ChartRef{Repo: "oci://registry.example.com/charts", Chart: "web"}},
		{name: "http mapping", helm: "      chart: {repo: https://charts.example.com, chart: web}\n      version: 1.4.2-rc.1\n",
			want: ChartRef{Repo: "https://charts.example.com", Chart: "web"}},
		{name: "oci mapping", helm: "      chart: {repo: oci://registry.example.com/charts, chart: web}\n      version: 1.4.2\n",
			want: ChartRef{Repo: "oci://registry.example.com/charts", Chart: "web"}},
		{name: "a range is refused", helm: "      chart: oci://registry.example.com/charts/web\n      version: ~1.4\n",
			wantErr: `.slipway.yaml:8: environments[0].helm.version: "~1.4" must be one exact version such as 1.4.2, not a range`},
		{name: "a partial version is a range too", helm: "      chart: oci://registry.example.com/charts/web\n      version: \"1.4\"\n",
			wantErr: `environments[0].helm.version: "1.4" must be one exact version`},
		{name: "version required", helm: "      chart: oci://registry.example.com/charts/web\n",
			wantErr: `.slipway.yaml:7: environments[0].helm.version: is required with helm.chart`},
		{name: "version without a chart", helm: "      version: 1.0.0\n",
			wantErr: `.slipway.yaml:7: environments[0].helm.version: is only for helm.chart`},
		{name: "a string must be oci", helm: "      chart: https://charts.example.com/web\n      version: 1.0.0\n",
			wantErr: `.slipway.yaml:7: environments[0].helm.chart: "https://charts.example.com/web" is not an oci:// reference; name a chart of an HTTP repository as {repo: https://…, chart: NAME}`},
		{name: "tag in the reference", helm: "      chart: {repo: oci://r.example.com/charts, chart: \"web:1.0.0\"}\n      version: 1.0.0\n",
			wantErr: `environments[0].helm.chart: chart "web:1.0.0" must be a bare chart name; put the version in helm.version`},
		{name: "credentials in the URL", helm: "      chart: {repo: \"https://user:pw@charts.example.com\", chart: web}\n      version: 1.0.0\n",
			wantErr: `environments[0].helm.chart: repo "https://user:pw@charts.example.com" must be an https://, http:// or oci:// URL without credentials`},
		{name: "file scheme", helm: "      chart: {repo: \"file:///etc\", chart: web}\n      version: 1.0.0\n",
			wantErr: `environments[0].helm.chart: repo "file:///etc" must be an https://, http:// or oci:// URL`},
		{name: "unknown key in the mapping", helm: "      chart: {repo: https://charts.example.com, name: web}\n      version: 1.0.0\n",
			wantErr: `environments[0].helm.chart.name: unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(FileName, []byte(env+tt.helm))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v\nwant it to contain %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Environments[0].Helm.Chart; got == nil || *got != tt.want {
				t.Errorf("chart %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestChartRefString(t *testing.T) {
	if got := (ChartRef{Repo: "oci://r.example.com/charts/", Chart: "web"}).String(); got != "oci://r.example.com/charts/web" {
		t.Errorf("oci: %q", got)
	}
	if got := (ChartRef{Repo: "https://charts.example.com", Chart: "web"}).String(); got != "web from https://charts.example.com" {
		t.Errorf("http: %q", got)
	}
}
