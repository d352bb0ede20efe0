package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// applyEnv overrides keys from the environment. The variable for a key is
// its path in upper case joined by underscores: github.app.webhook_secret is
// GITHUB_APP_WEBHOOK_SECRET (the names go-githubapp reads), every other
// section takes the SLIPWAY_ prefix (server.address is SLIPWAY_SERVER_ADDRESS).
// A list such as clusters is replaced whole by YAML in SLIPWAY_CLUSTERS.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := yamlName(t.Field(i))
		prefix := "SLIPWAY_" + strings.ToUpper(name)
		if name == "github" {
			prefix = "GITHUB"
		}
		if err := overrideValue(v.Field(i), prefix, name, env); err != nil {
			return err
		}
	}
	return nil
}

func overrideValue(v reflect.Value, envName, key string, env map[string]string) error {
	if v.Kind() == reflect.Struct && !isScalar(v) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name := yamlName(t.Field(i))
			sub := envName + "_" + strings.ToUpper(name)
			if err := overrideValue(v.Field(i), sub, key+"."+name, env); err != nil {
				return err
			}
		}
		return nil
	}
	raw, ok := env[envName]
	if !ok {
		return nil
	}
	if v.Kind() == reflect.Slice {
		return setList(v, envName, key, raw)
	}
	if err := setFromString(v, raw); err != nil {
		return fmt.Errorf("environment variable %s: %w", envName, err)
	}
	return nil
}

func setFromString(v reflect.Value, raw string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("expected true or false, got %q", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if d, ok := v.Addr().Interface().(*Duration); ok {
			return d.set(raw)
		}
		if b, ok := v.Addr().Interface().(*ByteSize); ok {
			return b.set(raw)
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("expected an integer, got %q", raw)
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// setList replaces a list such as clusters with the YAML in variable
// envName, checked as strictly as the file: when the environment is the
// only config, a misspelt key there must not be dropped in silence.
func setList(v reflect.Value, envName, key, raw string) error {
	fresh := reflect.New(v.Type())
	if _, err := strictyaml.Decode(envName, []byte(raw), fresh.Interface()); err != nil {
		var errs strictyaml.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				e.Key = key + e.Key
			}
		}
		return err
	}
	v.Set(fresh.Elem())
	return nil
}

// EnvName is the environment variable that overrides key, a path such as
// github.app.webhook_secret or clusters[0].kubeconfig (a list is set whole,
// so that one is SLIPWAY_CLUSTERS).
func EnvName(key string) string {
	key, _, _ = strings.Cut(key, "[")
	name := strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
	if strings.HasPrefix(key, "github.") || key == "github" {
		return name
	}
	return "SLIPWAY_" + name
}

func isScalar(v reflect.Value) bool {
	_, ok := v.Addr().Interface().(*Duration)
	return ok
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// getenvFrom looks variables up in environ ("KEY=value" pairs), the last
// of a name winning as in the process environment.
func getenvFrom(environ []string) func(string) string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return func(k string) string { return env[k] }
}
