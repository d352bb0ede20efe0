package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-github/v60/github"
)

// GitHub's App-manifest flow: a browser posts a manifest to the
// registration page, GitHub redirects it to the manifest's redirect_url
// with a one-time code, and the code is exchanged for the new App's
// credentials. The simulator's App is the one "created": the conversion
// returns its ID, slug, key and webhook secret, so a config written from
// the answer works against this simulator.

// manifestCodeTTL is how long GitHub accepts a manifest code.
const manifestCodeTTL = time.Hour

// manifestOwner owns Apps registered on a personal account.
const manifestOwner = "octocat"

// Manifest is an App manifest the registration page received.
type Manifest struct {
	Org   string // "" when registered on the personal account
	State string // the state query parameter, handed back with the code
	JSON  []byte // the manifest form field as posted
}

type manifestCode struct {
	expires  time.Time
	owner    string
	manifest map[string]any // nil for codes made by ManifestCode
}

// ManifestCode makes a one-time code that POST
// /app-manifests/{code}/conversions exchanges for this simulator's App, as
// if someone had just registered it from a manifest.
func (s *Sim) ManifestCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newManifestCode(manifestOwner, nil)
}

// Manifests returns the manifests posted to the registration page, oldest
// first.
func (s *Sim) Manifests() []Manifest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Manifest(nil), s.st.manifests...)
}

func (s *Sim) newManifestCode(owner string, manifest map[string]any) string {
	code := RandomHex(10)
	s.st.manifestCodes[code] = &manifestCode{expires: now().Add(manifestCodeTTL), owner: owner, manifest: manifest}
	return code
}

// registerFromManifest serves the registration page's form posts
// (POST /settings/apps/new and /organizations/{org}/settings/apps/new).
// GitHub shows the manifest for confirmation first; the simulator confirms
// at once and redirects to redirect_url with the code and state.
func (s *Sim) registerFromManifest(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	raw := r.PostFormValue("manifest")
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		http.Error(w, "Invalid GitHub App manifest: the manifest form field is not a JSON object", http.StatusUnprocessableEntity)
		return
	}
	if problem := manifestProblem(m); problem != "" {
		http.Error(w, "Invalid GitHub App manifest: "+problem, http.StatusUnprocessableEntity)
		return
	}
	redirect, err := url.Parse(m["redirect_url"].(string))
	if err != nil {
		http.Error(w, "Invalid GitHub App manifest: redirect_url is not a URL", http.StatusUnprocessableEntity)
		return
	}
	state := r.URL.Query().Get("state")

	s.mu.Lock()
	owner := manifestOwner
	if org != "" {
		owner = org
	}
	code := s.newManifestCode(owner, m)
	s.st.manifests = append(s.st.manifests, Manifest{Org: org, State: state, JSON: []byte(raw)})
	s.mu.Unlock()

	q := redirect.Query()
	q.Set("code", code)
	if state != "" {
		q.Set("state", state)
	}
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// manifestProblem checks what GitHub requires of a manifest, plus the
// redirect_url the simulator needs to hand back the code (without one,
// GitHub shows the code on its own page instead).
func manifestProblem(m map[string]any) string {
	str := func(v any) string { s, _ := v.(string); return s }
	absolute := func(v any) bool {
		u, err := url.Parse(str(v))
		return err == nil && u.Scheme != "" && u.Host != ""
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	switch {
	case !absolute(m["url"]):
		return "url (the App's homepage) must be a full URL"
	case hook == nil || !absolute(hook["url"]):
		return "hook_attributes.url must be a full URL"
	case !absolute(m["redirect_url"]):
		return "redirect_url must be a full URL (the simulator redirects there with the code)"
	}
	if perms, ok := m["default_permissions"]; ok {
		pm, ok := perms.(map[string]any)
		if !ok {
			return "default_permissions must be an object"
		}
		for name, level := range pm {
			if l := str(level); l != "read" && l != "write" && l != "admin" {
				return fmt.Sprintf("default_permissions.%s must be read, write or admin, got %v", name, level)
			}
		}
	}
	return ""
}

// convertManifest exchanges a manifest code for the App's configuration
// (POST /app-manifests/{code}/conversions). It needs no authentication; a
// code works once and for an hour.
func (s *Sim) convertManifest(c *call) {
	code := c.r.PathValue("code")
	mc := s.st.manifestCodes[code]
	delete(s.st.manifestCodes, code)
	if mc == nil || now().After(mc.expires) {
		c.notFound()
		return
	}
	name, _ := mc.manifest["name"].(string)
	if name == "" {
		name = s.opts.AppSlug
	}
	description, _ := mc.manifest["description"].(string)
	homepage, _ := mc.manifest["url"].(string)
	c.json(http.StatusCreated, &github.AppConfig{
		ID:            github.Int64(s.opts.AppID),
		Slug:          github.String(s.opts.AppSlug),
		NodeID:        nodeID("A", s.opts.AppID),
		Owner:         s.userObj(mc.owner),
		Name:          github.String(name),
		Description:   github.String(description),
		ExternalURL:   github.String(homepage),
		HTMLURL:       github.String(s.webURL("apps/%s", s.opts.AppSlug)),
		CreatedAt:     ts(s.start.UTC().Truncate(time.Second)),
		UpdatedAt:     ts(s.start.UTC().Truncate(time.Second)),
		ClientID:      github.String("Iv1." + RandomHex(8)),
		ClientSecret:  github.String(RandomHex(20)),
		WebhookSecret: github.String(s.opts.WebhookSecret),
		PEM:           github.String(string(s.PrivateKeyPEM())),
	})
}
