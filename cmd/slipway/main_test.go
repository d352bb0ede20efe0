package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testkit/testenv"
	"github.com/slipwayhq/slipway/internal/testkit/world"
)

// The test binary doubles as slipway: re-executed with this variable set it
// runs main(), so these tests drive the real command, flags, signals and
// exit codes without a separate build.
const runMainEnv = "SLIPWAY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"slipway"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(testenv.Main(m, testenv.Options{}))
}

type process struct {
	cmd            *exec.Cmd
	stdout, stderr *world.Buffer
	done           chan error
}

func startSlipway(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), runMainEnv+"=1"), env...)
	p := &process{cmd: cmd, stdout: &world.Buffer{}, stderr: &world.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("slipway stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		}
	})
	return p
}

func (p *process) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("slipway still running after %s", within)
		return -1
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady waits for the slipway serving at base to answer /readyz.
func waitReady(t *testing.T, base string) {
	t.Helper()
	world.Eventually(t, 20*time.Second, base+"/readyz", func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// writeServerConfig points a server config at w's simulator.
func writeServerConfig(t *testing.T, w *world.World, addr, secret string) string {
	t.Helper()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "app.pem")
	if err := w.WriteKey(keyPath); err != nil {
		t.Fatal(err)
	}
	sim := w.Sim
	cfg := fmt.Sprintf(`server:
  address: %q
  metrics_address: "127.0.0.1:0"
  shutdown_timeout: 5s
github:
  web_url: %s
  v3_api_url: %s
  v4_api_url: %s
  app:
    integration_id: %d
    webhook_secret: %q
    private_key_path: %s
store:
  path: %s
`, addr, sim.URL(), sim.V3URL(), sim.V4URL(), sim.AppID(), secret, keyPath, filepath.Join(dir, "slipway.db"))
	path := filepath.Join(dir, "slipway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServeAgainstGitHubSimulator(t *testing.T) {
	const secret = "e2e-secret"
	w := world.Empty(t, world.Options{Secret: secret, GitHubCaching: true})
	sim := w.Sim
	addr := freeAddr(t)
	base := "http://" + addr
	p := startSlipway(t, nil, "serve", "--config", writeServerConfig(t, w, addr, secret))
	waitReady(t, base)
	sim.SetWebhookURL(base + "/api/github/hook")

	t.Run("signed ping answers 200", func(t *testing.T) {
		d, err := sim.Ping()
		if err != nil || d.StatusCode != http.StatusOK {
			t.Fatalf("ping: %+v %v", d.StatusCode, err)
		}
	})

	t.Run("wrongly signed ping answers 4xx", func(t *testing.T) {
		body := []byte(`{"zen":"forged"}`)
		h := http.Header{}
		h.Set("X-Hub-Signature-256", "sha256=0000000000000000000000000000000000000000000000000000000000000000")
		d, _ := sim.SendRaw("ping", body, h)
		if d.StatusCode < 400 || d.StatusCode >= 500 {
			t.Fatalf("forged ping answered %d", d.StatusCode)
		}
	})

	t.Run("installation event is routed and the installation is reachable", func(t *testing.T) {
		if err := w.Install(map[string]string{"README.md": "shop\n"}); err != nil {
			t.Fatal(err)
		}
		id := w.Installation
		tokenPath := fmt.Sprintf("/api/v3/app/installations/%d/access_tokens", id)
		world.Eventually(t, 20*time.Second, "slipway to list the installation's repositories", func() bool {
			var exchanged, listed bool
			for _, r := range sim.Requests() {
				exchanged = exchanged || (r.Method == http.MethodPost && r.Path == tokenPath && r.Status == http.StatusCreated)
				listed = listed || (r.Path == "/api/v3/installation/repositories" && r.InstallationID == id && r.Status == http.StatusOK)
			}
			return exchanged && listed
		})
		world.Eventually(t, 20*time.Second, "the installation log line", func() bool {
			return strings.Contains(p.stdout.String(), fmt.Sprintf(`"installation":%d`, id)) &&
				strings.Contains(p.stdout.String(), "installation reachable")
		})
		if u := sim.Unsupported(); len(u) > 0 {
			t.Errorf("slipway called endpoints the simulator does not support: %v", u)
		}
	})

	t.Run("logs carry the delivery id and no secret", func(t *testing.T) {
		out := p.stdout.String()
		if !strings.Contains(out, `"delivery":"`) {
			t.Error("no delivery field in the logs")
		}
		if strings.Contains(out, secret) || strings.Contains(out, "PRIVATE KEY") {
			t.Error("a secret reached the logs")
		}
	})

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	if !strings.Contains(p.stdout.String(), "shut down cleanly") {
		t.Error("no clean shutdown logged")
	}
}

func TestServeRefusesEmptyWebhookSecret(t *testing.T) {
	w := world.Empty(t, world.Options{GitHubCaching: true})
	p := startSlipway(t, nil, "serve", "--config", writeServerConfig(t, w, freeAddr(t), ""))
	if code := p.wait(t, 10*time.Second); code == 0 {
		t.Fatal("started without a webhook secret")
	}
	if !strings.Contains(p.stderr.String(), "github.app.webhook_secret") {
		t.Errorf("error does not name the key: %s", p.stderr)
	}
}

func TestServeConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"unknown key", "server:\n  adress: :1\n", nil, "slipway.yaml:2: server.adress: unknown key"},
		{"missing integration id", "github:\n  app:\n    webhook_secret: s\n    private_key_path: /x\n", nil, "github.app.integration_id: is required"},
		{"unreadable key file", "github:\n  app:\n    integration_id: 1\n    webhook_secret: s\n    private_key_path: /nonexistent.pem\n", nil, "github.app.private_key_path: cannot read the key file"},
		{"secret emptied by the environment", "github:\n  app:\n    integration_id: 1\n    webhook_secret: s\n    private_key_path: /x\n", []string{"GITHUB_APP_WEBHOOK_SECRET="}, "github.app.webhook_secret: is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "slipway.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			p := startSlipway(t, tt.env, "serve", "--config", path)
			if code := p.wait(t, 10*time.Second); code != 1 {
				t.Fatalf("exit code %d, want 1", code)
			}
			if !strings.Contains(p.stderr.String(), tt.want) {
				t.Errorf("stderr %q does not contain %q", p.stderr, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	p := startSlipway(t, nil, "version")
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(p.stdout.String(), "slipway ") {
		t.Errorf("version printed %q", p.stdout)
	}
}
