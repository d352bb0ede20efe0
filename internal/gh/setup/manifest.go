package setup

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// Manifest is a GitHub App manifest (app.yml), with the keys GitHub's
// manifest flow accepts.
type Manifest struct {
	Name                  string            `yaml:"name" json:"name,omitempty"`
	URL                   string            `yaml:"url" json:"url"`
	Description           string            `yaml:"description" json:"description,omitempty"`
	Public                bool              `yaml:"public" json:"public"`
	HookAttributes        HookAttributes    `yaml:"hook_attributes" json:"hook_attributes"`
	RedirectURL           string            `yaml:"redirect_url" json:"redirect_url,omitempty"`
	CallbackURLs          []string          `yaml:"callback_urls" json:"callback_urls,omitempty"`
	SetupURL              string            `yaml:"setup_url" json:"setup_url,omitempty"`
	SetupOnUpdate         bool              `yaml:"setup_on_update" json:"setup_on_update,omitempty"`
	RequestOAuthOnInstall bool              `yaml:"request_oauth_on_install" json:"request_oauth_on_install,omitempty"`
	DefaultEvents         []string          `yaml:"default_events" json:"default_events,omitempty"`
	DefaultPermissions    map[string]string `yaml:"default_permissions" json:"default_permissions,omitempty"`
}

// HookAttributes is the App's webhook.
type HookAttributes struct {
	URL    string `yaml:"url" json:"url"`
	Active *bool  `yaml:"active" json:"active,omitempty"`
}

// Events GitHub sends every App without a subscription; listing them in
// default_events is a mistake GitHub does not explain well.
var implicitEvents = []string{"installation", "installation_repositories", "github_app_authorization", "meta"}

// ParseManifest reads an App manifest. Unknown keys, wrong types and values
// GitHub would refuse are errors naming file, line and key.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	var m Manifest
	pos, err := strictyaml.Decode(file, data, &m)
	if err != nil {
		return nil, err
	}
	var errs strictyaml.Errors
	fail := func(key, format string, args ...any) {
		errs = append(errs, &strictyaml.Error{File: file, Line: pos.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if m.Name == "" {
		fail("name", "is required: the App's name on GitHub (unique across GitHub)")
	}
	for _, u := range []struct{ key, val string }{{"url", m.URL}, {"hook_attributes.url", m.HookAttributes.URL}} {
		if !absoluteURL(u.val) {
			fail(u.key, "must be a full URL like https://slipway.example.com, got %q", u.val)
		}
	}
	for i, ev := range m.DefaultEvents {
		if slices.Contains(implicitEvents, ev) {
			fail(fmt.Sprintf("default_events[%d]", i), "GitHub sends %s events to every App: remove it from the list", ev)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.DefaultPermissions)) {
		if level := m.DefaultPermissions[name]; level != "read" && level != "write" && level != "admin" {
			fail("default_permissions."+name, "must be read, write or admin, got %q", level)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &m, nil
}

// JSON is the manifest as GitHub's registration form takes it.
func (m *Manifest) JSON() ([]byte, error) { return json.Marshal(m) }

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
