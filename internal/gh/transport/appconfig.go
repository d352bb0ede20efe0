package transport

import (
	"strings"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/slipwayhq/slipway/internal/config"
)

// AppConfig is the go-githubapp configuration of the server config, with
// the private key read from private_key_path when that is how it was given.
func AppConfig(c *config.Config) (githubapp.Config, error) {
	var gc githubapp.Config
	gc.WebURL = c.GitHub.WebURL
	gc.V3APIURL = withTrailingSlash(c.GitHub.V3APIURL)
	gc.V4APIURL = c.GitHub.V4APIURL
	gc.App.IntegrationID = c.GitHub.App.IntegrationID
	gc.App.WebhookSecret = c.GitHub.App.WebhookSecret
	key, err := c.PrivateKey()
	if err != nil {
		return gc, err
	}
	gc.App.PrivateKey = string(key)
	return gc, nil
}

// go-githubapp joins paths onto the v3 URL; without the slash the last path
// segment (/api/v3 on GitHub Enterprise) is silently dropped.
func withTrailingSlash(u string) string {
	if u == "" || strings.HasSuffix(u, "/") {
		return u
	}
	return u + "/"
}
