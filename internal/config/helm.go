package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/slipwayhq/slipway/internal/chartsrc"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// Helm is where charts named by reference may come from: the allow-list a
// pull request cannot widen, the credentials (the server's alone) and the
// cache of what was fetched.
type Helm struct {
	Repositories []HelmRepository `yaml:"repositories"`
	// CacheDir holds fetched charts; empty: a directory under the system's
	// temporary directory.
	CacheDir     string   `yaml:"cache_dir"`
	CacheMaxSize ByteSize `yaml:"cache_max_size"`
	// MaxDownload caps each response of a chart source (an index.yaml, an
	// archive, a registry blob).
	MaxDownload ByteSize `yaml:"max_download"`
}

// HelmRepository is one allowed chart source and how slipway signs in to
// it: no credentials, or a user name (inline or from an environment
// variable) and a password from an environment variable or a file.
type HelmRepository struct {
	URL          string `yaml:"url"`
	Username     string `yaml:"username"`
	UsernameEnv  string `yaml:"username_env"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// PlainHTTP reaches an oci:// registry over http, without TLS.
	PlainHTTP bool `yaml:"plain_http"`
	// Repos, when set, are the only repositories (owner/repo, owner/*)
	// whose renders may fetch from it: a team's private registry, say.
	Repos []string `yaml:"repos"`

	// From the environment, once loaded.
	username, password string
}

// Minimums of the helm sizes.
const (
	MinHelmCacheSize   = 1 << 20
	MinHelmMaxDownload = 1 << 10
)

// ChartOptions configure the chart fetcher.
func (c *Config) ChartOptions() chartsrc.Options {
	opts := chartsrc.Options{CacheDir: c.Helm.CacheDir, MaxCacheSize: int64(c.Helm.CacheMaxSize), MaxDownload: int64(c.Helm.MaxDownload)}
	for _, r := range c.Helm.Repositories {
		opts.Sources = append(opts.Sources, chartsrc.Source{URL: r.URL, Username: r.username, Password: r.password, PasswordFile: r.PasswordFile, PlainHTTP: r.PlainHTTP, Repos: r.Repos})
	}
	return opts
}

// resolve checks the helm section and reads the credentials the
// environment holds. No message carries a credential.
func (h *Helm) resolve(file string, pos strictyaml.Positions, environ []string) strictyaml.Errors {
	var errs strictyaml.Errors
	fail := func(key, format string, args ...any) {
		errs = append(errs, &strictyaml.Error{File: file, Line: pos.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	seen := map[string]int{}
	for i := range h.Repositories {
		r := &h.Repositories[i]
		key := fmt.Sprintf("helm.repositories[%d]", i)
		if r.URL == "" {
			fail(key+".url", "is required: an https:// chart repository or an oci:// registry path")
		} else if err := chartsrc.CheckSource(chartsrc.Source{URL: r.URL, PlainHTTP: r.PlainHTTP}); err != nil {
			fail(key+".url", "%v", err)
		} else if j, dup := seen[strings.TrimSuffix(r.URL, "/")]; dup {
			fail(key+".url", "is already listed at helm.repositories[%d]", j)
		}
		seen[strings.TrimSuffix(r.URL, "/")] = i
		r.username = r.Username
		switch {
		case r.Username != "" && r.UsernameEnv != "":
			fail(key+".username_env", "set either username or username_env, not both")
		case r.UsernameEnv != "":
			if r.username = env[r.UsernameEnv]; r.username == "" {
				fail(key+".username_env", "environment variable %s is not set", r.UsernameEnv)
			}
		}
		switch {
		case r.PasswordEnv != "" && r.PasswordFile != "":
			fail(key+".password_file", "set either password_env or password_file, not both")
		case r.PasswordEnv != "":
			if r.password = env[r.PasswordEnv]; r.password == "" {
				fail(key+".password_env", "environment variable %s is not set", r.PasswordEnv)
			}
		case r.PasswordFile != "":
			if f, err := os.Open(r.PasswordFile); err != nil {
				fail(key+".password_file", "cannot read the password file: %v", err)
			} else {
				f.Close()
			}
		}
		for j, pattern := range r.Repos {
			if msg := repoPatternProblem(pattern); msg != "" {
				fail(fmt.Sprintf("%s.repos[%d]", key, j), "%s", msg)
			}
		}
		hasUser, hasPassword := r.Username != "" || r.UsernameEnv != "", r.PasswordEnv != "" || r.PasswordFile != ""
		if hasUser != hasPassword {
			fail(key, "give both a user name (username or username_env) and a password (password_env or password_file), or neither")
		}
	}
	if h.CacheMaxSize < MinHelmCacheSize {
		fail("helm.cache_max_size", "must be at least %s, got %s (for example %s)", ByteSize(MinHelmCacheSize), h.CacheMaxSize, ByteSize(chartsrc.DefaultMaxCacheSize))
	}
	if h.MaxDownload < MinHelmMaxDownload {
		fail("helm.max_download", "must be at least %s, got %s (for example %s)", ByteSize(MinHelmMaxDownload), h.MaxDownload, ByteSize(chartsrc.DefaultMaxDownload))
	}
	return errs
}
