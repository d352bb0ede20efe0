package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// validate checks what the YAML shape cannot: required keys, files that must
// be readable, references that must resolve.
func (c *Config) validate(file string, pos strictyaml.Positions) strictyaml.Errors {
	var errs strictyaml.Errors
	fail := func(key, format string, args ...any) {
		errs = append(errs, &strictyaml.Error{File: file, Line: pos.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	if c.Server.Address == "" {
		fail("server.address", "must not be empty (for example %q)", DefaultAddress)
	}
	switch {
	case c.Server.MetricsAddress == "":
		fail("server.metrics_address", "must not be empty (for example %q)", DefaultMetricsAddress)
	case c.Server.MetricsAddress == c.Server.Address:
		fail("server.metrics_address", "is server.address too; serve /metrics on a port of its own (for example %q), apart from the webhook port an ingress exposes", DefaultMetricsAddress)
	}
	if c.Server.PublicURL != "" {
		if u, err := url.Parse(c.Server.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
			fail("server.public_url", "must be an absolute URL like https://slipway.example.com, got %q", c.Server.PublicURL)
		}
	}
	if c.Server.Workers < 1 {
		fail("server.workers", "must be at least 1, got %d", c.Server.Workers)
	}
	if c.Server.QueueSize < 0 {
		fail("server.queue_size", "must not be negative, got %d", c.Server.QueueSize)
	}
	if c.Server.ResyncInterval < Duration(time.Second) {
		fail("server.resync_interval", "must be at least 1s, got %s", time.Duration(c.Server.ResyncInterval))
	}
	if c.Server.DriftInterval < Duration(time.Second) {
		fail("server.drift_interval", "must be at least 1s, got %s", time.Duration(c.Server.DriftInterval))
	}
	if n := len(c.Server.MaskKey); n > 0 && n < MinMaskKeyLength {
		fail("server.mask_key", "is %d characters; use at least %d random ones (openssl rand -hex 32), or leave it empty to derive it from the webhook secret", n, MinMaskKeyLength)
	}
	if c.Server.ShutdownTimeout <= 0 {
		fail("server.shutdown_timeout", "must be positive")
	}
	if _, err := zerolog.ParseLevel(c.Server.LogLevel); err != nil || c.Server.LogLevel == "" {
		fail("server.log_level", "must be one of trace, debug, info, warn, error; got %q", c.Server.LogLevel)
	}

	for _, k := range []struct{ key, val string }{
		{"github.web_url", c.GitHub.WebURL},
		{"github.v3_api_url", c.GitHub.V3APIURL},
		{"github.v4_api_url", c.GitHub.V4APIURL},
	} {
		if u, err := url.Parse(k.val); err != nil || u.Scheme == "" || u.Host == "" {
			fail(k.key, "must be an absolute URL, got %q", k.val)
		}
	}
	if c.GitHub.MaxRetryWait < Duration(time.Second) {
		fail("github.max_retry_wait", "must be at least 1s, got %s (for example %s)", time.Duration(c.GitHub.MaxRetryWait), DefaultMaxRetryWait)
	}
	if c.GitHub.MaxConcurrentRequests < 1 {
		fail("github.max_concurrent_requests", "must be at least 1, got %d (for example %d)", c.GitHub.MaxConcurrentRequests, DefaultMaxConcurrent)
	}
	app := c.GitHub.App
	if app.IntegrationID <= 0 {
		fail("github.app.integration_id", "is required: the GitHub App's ID from its settings page (or GITHUB_APP_INTEGRATION_ID)")
	}
	if app.WebhookSecret == "" {
		fail("github.app.webhook_secret", "is empty: slipway refuses to start without it, because webhook signatures would go unchecked (set it or GITHUB_APP_WEBHOOK_SECRET to the App's webhook secret)")
	}
	switch {
	case app.PrivateKey != "" && app.PrivateKeyPath != "":
		fail("github.app.private_key_path", "set either private_key or private_key_path, not both")
	case app.PrivateKey == "" && app.PrivateKeyPath == "":
		fail("github.app.private_key", "is required: the App's PEM private key, inline or through private_key_path (or GITHUB_APP_PRIVATE_KEY)")
	default:
		key := "github.app.private_key"
		if app.PrivateKeyPath != "" {
			key = "github.app.private_key_path"
		}
		if pemBytes, err := c.PrivateKey(); err != nil {
			fail(key, "cannot read the key file: %v", unwrapPath(err))
		} else if err := checkRSAKey(pemBytes); err != nil {
			fail(key, "%v", err)
		}
	}

	names := map[string]bool{}
	for i, cl := range c.Clusters {
		key := fmt.Sprintf("clusters[%d]", i)
		switch {
		case cl.Name == "":
			fail(key+".name", "is required")
		case names[cl.Name]:
			fail(key+".name", "cluster %q is defined twice", cl.Name)
		}
		names[cl.Name] = true
		switch {
		case cl.InCluster && cl.Kubeconfig != "":
			fail(key+".kubeconfig", "set either kubeconfig or in_cluster, not both")
		case !cl.InCluster && cl.Kubeconfig == "":
			fail(key+".kubeconfig", "is required unless in_cluster is true")
		case cl.Kubeconfig != "":
			if f, err := os.Open(cl.Kubeconfig); err != nil {
				fail(key+".kubeconfig", "cannot read the kubeconfig: %v", unwrapPath(err))
			} else {
				f.Close()
			}
		}
		validateRepos(cl, key, fail)
	}

	if c.Render.Timeout < Duration(time.Second) {
		fail("render.timeout", "must be at least 1s, got %s (for example %s)", time.Duration(c.Render.Timeout), DefaultRenderTimeout)
	}
	if c.Render.MaxMemory < MinRenderMemory {
		fail("render.max_memory", "must be at least %s, got %s: the render process needs that much to start (for example %s)", ByteSize(MinRenderMemory), c.Render.MaxMemory, ByteSize(DefaultRenderMemory))
	}
	if c.Render.MaxObjects < 1 {
		fail("render.max_objects", "must be at least 1, got %d (for example %d)", c.Render.MaxObjects, DefaultRenderObjects)
	}
	if c.Render.MaxOutput < MinRenderOutput {
		fail("render.max_output", "must be at least %s, got %s (for example %s)", ByteSize(MinRenderOutput), c.Render.MaxOutput, ByteSize(DefaultRenderOutput))
	}

	for i, who := range c.Unlockers {
		if !validLogin(who) {
			fail(fmt.Sprintf("unlockers[%d]", i), "must be a GitHub login or org/team, got %q", who)
		}
	}

	switch c.Store.Kind {
	case StoreBolt:
		if c.Store.Path == "" {
			fail("store.path", "is required for the bolt store")
		}
	case StoreKubernetes:
		if c.Store.Namespace == "" {
			fail("store.namespace", "is required for the kubernetes store")
		} else if errs := validation.IsDNS1123Label(c.Store.Namespace); len(errs) > 0 {
			fail("store.namespace", "%q is not a namespace name: %s", c.Store.Namespace, strings.Join(errs, "; "))
		}
		if c.Store.Cluster != "" && !names[c.Store.Cluster] {
			fail("store.cluster", "no cluster %q in clusters (defined: %s); name one of them, or leave store.cluster empty for the cluster slipway runs in", c.Store.Cluster, listOrNone(c.Clusters))
		}
		if c.Store.LeaseDuration < Duration(MinLeaseDuration) {
			fail("store.lease_duration", "must be at least %s, got %s", MinLeaseDuration, time.Duration(c.Store.LeaseDuration))
		}
	default:
		fail("store.kind", "must be %q or %q, got %q", StoreBolt, StoreKubernetes, c.Store.Kind)
	}
	return errs
}

// validLogin accepts a GitHub login or org/team: letters, digits, dashes
// (and, in team slugs, underscores and dots), one slash at most.
func validLogin(who string) bool {
	parts := strings.Split(who, "/")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			return false
		}
	}
	return true
}

func listOrNone(clusters []Cluster) string {
	var out []string
	for _, cl := range clusters {
		out = append(out, strconv.Quote(cl.Name))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// checkRSAKey fails early on a key GitHub App authentication would reject
// later, at the first webhook.
func checkRSAKey(pemBytes []byte) error {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return fmt.Errorf("is not a PEM-encoded private key")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		return fmt.Errorf("is not an RSA private key: %v", err)
	}
	return nil
}

// unwrapPath keeps "open X: no such file or directory" readable after the
// key has already been named.
func unwrapPath(err error) error {
	if pe, ok := err.(interface{ Unwrap() error }); ok && strings.HasPrefix(err.Error(), "github.app.") {
		return pe.Unwrap()
	}
	return err
}
