package transport

import (
	"testing"

	"github.com/slipwayhq/slipway/internal/config"
)

func TestAppConfig(t *testing.T) {
	tests := []struct {
		name, v3, want string
	}{
		{"enterprise path keeps its last segment", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/"},
		{"slash kept", "https://api.github.com/", "https://api.github.com/"},
		{"empty stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Config{}
			c.GitHub.V3APIURL = tt.v3
			c.GitHub.App.IntegrationID = 7
			c.GitHub.App.WebhookSecret = "s"
			c.GitHub.App.PrivateKey = "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n"
			app, err := AppConfig(c)
			if err != nil {
				t.Fatal(err)
			}
			if app.V3APIURL != tt.want {
				t.Errorf("V3APIURL = %q, want %q", app.V3APIURL, tt.want)
			}
			if app.App.IntegrationID != 7 || app.App.WebhookSecret != "s" || app.App.PrivateKey != c.GitHub.App.PrivateKey {
				t.Errorf("app fields not carried: %+v", app.App)
			}
		})
	}
	c := &config.Config{}
	c.GitHub.App.PrivateKeyPath = "/nonexistent/key.pem"
	if _, err := AppConfig(c); err == nil {
		t.Error("an unreadable key file gave no error")
	}
}
