package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"go.yaml.in/yaml/v3"
)

// secretMode is the mode of every file setup writes: they hold the App's
// credentials.
const secretMode fs.FileMode = 0o600

// The part of the server config (internal/config) that setup knows.
type fileConfig struct {
	Server *fileServer `yaml:"server,omitempty"`
	GitHub fileGitHub  `yaml:"github"`
}

type fileServer struct {
	PublicURL string `yaml:"public_url"`
}

type fileGitHub struct {
	WebURL   string  `yaml:"web_url"`
	V3APIURL string  `yaml:"v3_api_url"`
	V4APIURL string  `yaml:"v4_api_url"`
	App      fileApp `yaml:"app"`
}

type fileApp struct {
	IntegrationID  int64  `yaml:"integration_id"`
	WebhookSecret  string `yaml:"webhook_secret"`
	PrivateKey     string `yaml:"private_key,omitempty"`
	PrivateKeyPath string `yaml:"private_key_path,omitempty"`
}

// serverConfig renders the server config for the App GitHub created;
// keyPath "" puts the private key inline.
func serverConfig(opts *Options, app *github.AppConfig, keyPath string, now time.Time) ([]byte, error) {
	cfg := fileConfig{GitHub: fileGitHub{
		WebURL:   opts.WebURL,
		V3APIURL: opts.V3APIURL,
		V4APIURL: V4URL(opts.V3APIURL),
		App: fileApp{
			IntegrationID:  app.GetID(),
			WebhookSecret:  app.GetWebhookSecret(),
			PrivateKeyPath: keyPath,
		},
	}}
	if keyPath == "" {
		cfg.GitHub.App.PrivateKey = app.GetPEM()
	}
	if opts.PublicURL != "" {
		cfg.Server = &fileServer{PublicURL: opts.PublicURL}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# slipway server config for the GitHub App %q (%s),\n", app.GetSlug(), app.GetHTMLURL())
	fmt.Fprintf(&b, "# written by `slipway setup` on %s. It holds the App's secrets: keep it private.\n", now.UTC().Format(time.DateOnly))
	b.WriteString("# Add the clusters slipway may deploy to (and the store): see config/slipway.example.yaml.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("render the server config: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// V4URL is the GraphQL endpoint that goes with a REST base URL:
// https://api.github.com/ → https://api.github.com/graphql, and GitHub
// Enterprise's https://HOST/api/v3/ → https://HOST/api/graphql.
func V4URL(v3 string) string {
	base := strings.TrimSuffix(v3, "/")
	if b, ok := strings.CutSuffix(base, "/api/v3"); ok {
		return b + "/api/graphql"
	}
	return base + "/graphql"
}

// checkWritable fails early, before anyone registers an App, when path
// could not be written: it exists and force is off, or its directory is
// missing.
func checkWritable(flag, path string, force bool) error {
	if _, err := os.Stat(path); err == nil && !force {
		return fmt.Errorf("%s %s already exists: slipway setup does not overwrite it; pass --force or choose another path", flag, path)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s %s: directory %s does not exist", flag, path, dir)
	}
	return nil
}

// writeSecret writes data to path with mode 0600. Without force an
// existing file is an error; with force it is replaced whole (never left
// half-written, and never with its old, possibly wider, mode).
func writeSecret(path string, data []byte, force bool) error {
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, secretMode)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: slipway setup does not overwrite it (--force does)", path)
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("write %s: %w", path, err)
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(secretMode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
