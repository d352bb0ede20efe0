package config

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/notify"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// MinNotifySecret is the shortest HMAC key a webhook receiver may have.
const MinNotifySecret = 16

// Notify is one receiver of notifications. Its URL comes from exactly one
// of url, url_file and url_env; a Slack webhook URL is a credential, so
// not inline. A generic webhook's HMAC key comes from secret_file or
// secret_env, never inline.
type Notify struct {
	Kind       string   `yaml:"kind"`
	URL        string   `yaml:"url"`
	URLFile    string   `yaml:"url_file"`
	URLEnv     string   `yaml:"url_env"`
	SecretFile string   `yaml:"secret_file"`
	SecretEnv  string   `yaml:"secret_env"`
	Events     []string `yaml:"events"`
}

// NotifyReceivers reads each notify entry's URL and secret from where it
// says, with getenv for the environment. Errors name the key, never a
// value read.
func (c *Config) NotifyReceivers(getenv func(string) string) ([]notify.Receiver, error) {
	out, errs := c.notifyReceivers(getenv)
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func (c *Config) notifyReceivers(getenv func(string) string) ([]notify.Receiver, strictyaml.Errors) {
	var out []notify.Receiver
	var errs strictyaml.Errors
	for i, n := range c.Notify {
		r, err := n.receiver(fmt.Sprintf("notify[%d]", i), getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errs
}

func (n Notify) receiver(key string, getenv func(string) string) (notify.Receiver, *strictyaml.Error) {
	r := notify.Receiver{Name: key, Kind: n.Kind, Events: n.Events}
	fail := func(sub, format string, args ...any) (notify.Receiver, *strictyaml.Error) {
		return notify.Receiver{}, &strictyaml.Error{Key: key + sub, Msg: fmt.Sprintf(format, args...)}
	}
	switch n.Kind {
	case notify.KindSlack, notify.KindWebhook:
	default:
		return fail(".kind", "must be %q or %q, got %q", notify.KindSlack, notify.KindWebhook, n.Kind)
	}
	for _, e := range n.Events {
		if !slices.Contains(notify.Events, e) {
			return fail(".events", "unknown event %q; the events are %s", e, strings.Join(notify.Events, ", "))
		}
	}
	set := 0
	for _, v := range []string{n.URL, n.URLFile, n.URLEnv} {
		if v != "" {
			set++
		}
	}
	switch {
	case set != 1:
		return fail(".url", "set exactly one of url, url_file and url_env")
	case n.Kind == notify.KindSlack && n.URL != "":
		return fail(".url", "a Slack webhook URL is a credential: put it in a file (url_file) or the environment (url_env), not in the config")
	}
	u, sub, err := readValue(".url", n.URL, n.URLFile, n.URLEnv, getenv)
	if err != nil {
		return fail(sub, "%v", err)
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		// Not the value: a Slack URL is a secret.
		return fail(sub, "is not an http(s) URL")
	}
	r.URL = u
	switch {
	case n.Kind == notify.KindSlack && (n.SecretFile != "" || n.SecretEnv != ""):
		return fail(".secret_file", "Slack takes no secret: its URL is one")
	case n.Kind == notify.KindWebhook && (n.SecretFile == "") == (n.SecretEnv == ""):
		return fail(".secret_file", "a webhook needs the key of its signatures in exactly one of secret_file and secret_env (at least %d characters: openssl rand -hex 32)", MinNotifySecret)
	case n.Kind == notify.KindWebhook:
		secret, sub, err := readValue(".secret", "", n.SecretFile, n.SecretEnv, getenv)
		if err != nil {
			return fail(sub, "%v", err)
		}
		if len(secret) < MinNotifySecret {
			return fail(sub, "the key is %d characters; use at least %d (openssl rand -hex 32)", len(secret), MinNotifySecret)
		}
		r.Secret = secret
	}
	return r, nil
}

// readValue is inline, or file's contents, or the variable env, trimmed;
// sub is the key (of name) it came from.
func readValue(name, inline, file, env string, getenv func(string) string) (v, sub string, err error) {
	switch {
	case file != "":
		sub = name + "_file"
		b, err := os.ReadFile(file)
		if err != nil {
			return "", sub, fmt.Errorf("cannot read %s: %v", file, unwrapPath(err))
		}
		v = string(b)
	case env != "":
		v, sub = getenv(env), name+"_env"
		if v == "" {
			return "", sub, fmt.Errorf("the environment variable %s is empty or unset", env)
		}
	default:
		v, sub = inline, name
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", sub, fmt.Errorf("is empty")
	}
	return v, sub, nil
}
