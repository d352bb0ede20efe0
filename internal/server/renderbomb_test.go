package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/config"
)

// renderTimeout is the world's render.timeout: short, so a bomb costs
// seconds.
const renderTimeout = 3 * time.Second

// chartFiles are two before-merge environments, each a Helm chart with one
// ConfigMap.
func (w *world) chartFiles() map[string]string {
	files := map[string]string{".slipway.yaml": "version: 1\nenvironments:\n"}
	for env, ns := range map[string]string{"staging": w.staging, "production": w.prod} {
		files[".slipway.yaml"] += "  - name: " + env + "\n    path: deploy/" + env + "\n    cluster: test\n    namespace: " + ns + "\n    mode: before-merge\n"
		files["deploy/"+env+"/Chart.yaml"] = "apiVersion: v2\nname: shop\nversion: 0.1.0\n"
		files["deploy/"+env+"/templates/cm.yaml"] = configMapYAML("shop", "1")
	}
	return files
}

// A pull request whose charts never finish rendering, one looping forever
// and one growing a string without end, gets a failed plan check per
// environment naming the limit it hit, in about render.timeout; /apply
// applies nothing; no render process is left; and the server still
// answers. Before renders ran in a bounded child process, the looping
// render never ended and its check run stayed in progress.
func TestRenderBombsStopped(t *testing.T) {
	w := newWorldWith(t, 2, (*world).chartFiles, func(c *config.Config) {
		c.Render.Timeout = config.Duration(renderTimeout)
		c.Render.MaxMemory = 128 << 20
	})
	pr := w.openPR("bombs", "alice", map[string]string{
		"deploy/staging/templates/cm.yaml":    "{{- range until 100000 }}{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}{{- end }}\n" + configMapYAML("shop", "2"),
		"deploy/production/templates/cm.yaml": `{{- $s := "x" }}{{- range until 64 }}{{- $s = printf "%s%s" $s $s }}{{- end }}` + "\n" + configMapYAML("shop", "{{ len $s }}"),
	})
	sha := w.head(pr)
	for env, want := range map[string]string{
		"staging":    "render of staging stopped: it ran past render.timeout (3s)",
		"production": "render of production stopped: it used more than render.max_memory (128Mi)",
	} {
		run := w.completed(sha, "slipway/plan: "+env)
		if run.GetConclusion() != "failure" || !strings.Contains(run.GetOutput().GetSummary(), want) {
			t.Errorf("%s plan: %s, summary %q; want a failure saying %q", env, run.GetConclusion(), run.GetOutput().GetSummary(), want)
		}
		if took := run.GetCompletedAt().Sub(run.GetStartedAt().Time); took > renderTimeout+10*time.Second {
			t.Errorf("%s plan took %s, want about render.timeout (%s)", env, took, renderTimeout)
		}
	}

	w.command(pr, "alice", "/apply staging")
	w.reply(pr, "`/apply` refused, nothing was applied")
	for _, ns := range []string{w.staging, w.prod} {
		if cm := w.configMap(ns, "shop"); cm != nil {
			t.Errorf("ConfigMap %s/shop was applied", ns)
		}
	}
	w.serving(pr)
	w.eventually("no render process left", func() bool { return len(renderChildren(t)) == 0 })
}

// renderChildren lists this process's render children (renderproc names
// them slipway-render), running or not yet reaped.
func renderChildren(t *testing.T) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[end+1:]) // state ppid ...
		if end < 0 || len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		// A zombie has no cmdline left; its comm is the executable's name.
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(stat), "cmdline"))
		if f[0] == "Z" || strings.HasPrefix(string(cmdline), "slipway-render\x00") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(stat)))
			out = append(out, pid)
		}
	}
	return out
}
