package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/notify"
)

// Notification receivers come from the server config only; their URLs and
// secrets from files or the environment, and an error about one never
// prints what was read.
func TestNotifyReceivers(t *testing.T) {
	keyPath := writeKey(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	slackURL := "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
	slackFile := write("slack", slackURL+"\n")
	secretFile := write("hmac", "0123456789abcdef0123456789abcdef\n")
	notAURL := write("bad", "hooks.slack.com/services/T000/B000/XXXXSECRETXXXX")
	good := "github:\n  app:\n    integration_id: 7\n    webhook_secret: s3cret\n    private_key_path: " + keyPath + "\n"
	env := []string{"HOOK_URL=https://ops.example.com/slipway", "HOOK_KEY=fedcba9876543210fedcba9876543210", "SHORT=abc"}

	tests := []struct {
		name    string
		notify  string
		env     []string
		want    []notify.Receiver
		wantErr string
	}{
		{name: "none", want: nil},
		{name: "slack from a file and a webhook from the environment",
			notify: "  - kind: slack\n    url_file: " + slackFile + "\n    events: [deploy, rollback]\n  - kind: webhook\n    url_env: HOOK_URL\n    secret_env: HOOK_KEY\n",
			env:    env,
			want: []notify.Receiver{
				{Name: "notify[0]", Kind: "slack", URL: slackURL, Events: []string{"deploy", "rollback"}},
				{Name: "notify[1]", Kind: "webhook", URL: "https://ops.example.com/slipway", Secret: "fedcba9876543210fedcba9876543210"},
			}},
		{name: "webhook inline with a key file",
			notify: "  - kind: webhook\n    url: https://ops.example.com/hook\n    secret_file: " + secretFile + "\n",
			want:   []notify.Receiver{{Name: "notify[0]", Kind: "webhook", URL: "https://ops.example.com/hook", Secret: "0123456789abcdef0123456789abcdef"}}},
		{name: "slack URL inline refused", notify: "  - kind: slack\n    url: " + slackURL + "\n",
			wantErr: "slipway.yaml:8: notify[0].url: a Slack webhook URL is a credential"},
		{name: "unsigned webhook refused", notify: "  - kind: webhook\n    url: https://ops.example.com/hook\n",
			wantErr: "notify[0].secret_file: a webhook needs the key of its signatures"},
		{name: "short key", notify: "  - kind: webhook\n    url: https://ops.example.com/hook\n    secret_env: SHORT\n", env: env,
			wantErr: "notify[0].secret_env: the key is 3 characters; use at least 16"},
		{name: "unset variable", notify: "  - kind: slack\n    url_env: NOPE\n",
			wantErr: "notify[0].url_env: the environment variable NOPE is empty or unset"},
		{name: "not a URL, and not printed", notify: "  - kind: slack\n    url_file: " + notAURL + "\n",
			wantErr: "notify[0].url_file: is not an http(s) URL"},
		{name: "unknown kind", notify: "  - kind: email\n    url: https://x.example.com\n", wantErr: `notify[0].kind: must be "slack" or "webhook", got "email"`},
		{name: "unknown event", notify: "  - kind: slack\n    url_file: " + slackFile + "\n    events: [plan]\n", wantErr: `notify[0].events: unknown event "plan"`},
		{name: "two URLs", notify: "  - kind: slack\n    url_file: " + slackFile + "\n    url_env: HOOK_URL\n", env: env, wantErr: "notify[0].url: set exactly one of url, url_file and url_env"},
		{name: "the list from the environment", env: append([]string{"SLIPWAY_NOTIFY=[{kind: webhook, url_env: HOOK_URL, secret_env: HOOK_KEY}]"}, env...),
			want: []notify.Receiver{{Name: "notify[0]", Kind: "webhook", URL: "https://ops.example.com/slipway", Secret: "fedcba9876543210fedcba9876543210"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := good
			if tt.notify != "" {
				text += "notify:\n" + tt.notify
			}
			c, err := Parse("slipway.yaml", []byte(text), tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				for _, secret := range []string{"XXXXSECRETXXXX", "abc"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("the error prints a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.NotifyReceivers(getenvFrom(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("receivers %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || got[i].Kind != tt.want[i].Kind || got[i].URL != tt.want[i].URL ||
					got[i].Secret != tt.want[i].Secret || strings.Join(got[i].Events, ",") != strings.Join(tt.want[i].Events, ",") {
					t.Errorf("receiver %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestMetricsAddress(t *testing.T) {
	keyPath := writeKey(t)
	good := "github:\n  app:\n    integration_id: 7\n    webhook_secret: s3cret\n    private_key_path: " + keyPath + "\n"
	c, err := Parse("slipway.yaml", []byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MetricsAddress != ":9090" {
		t.Errorf("metrics_address %q, want :9090", c.Server.MetricsAddress)
	}
	_, err = Parse("slipway.yaml", []byte(good+"server:\n  address: :8080\n  metrics_address: :8080\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "slipway.yaml:8: server.metrics_address: is server.address too") {
		t.Errorf("error %v, want the shared port refused", err)
	}
}
