package setup

import (
	"net"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway"
)

// app.yml asks for what slipway calls on GitHub, and subscribes to the
// events its handlers take.
func TestAppManifest(t *testing.T) {
	m, err := ParseManifest("app.yml", slipway.AppManifest)
	if err != nil {
		t.Fatal(err)
	}
	if m.Public {
		t.Error("app.yml registers a public App")
	}
	if m.HookAttributes.Active != nil && !*m.HookAttributes.Active {
		t.Error("app.yml registers the webhook inactive")
	}
	perms := []struct{ name, level, why string }{
		{"metadata", "read", "every App"},
		{"contents", "read", "fetch trees and .slipway.yaml"},
		{"pull_requests", "write", "pull requests, files, reactions"},
		{"issues", "write", "the sticky comment and replies"},
		{"checks", "write", "plan, policy and apply check runs"},
		{"deployments", "write", "Deployment records"},
		{"statuses", "read", "checks-green"},
		{"members", "read", "team approvers"},
		{"merge_queues", "read", "merge_group events"},
	}
	for _, p := range perms {
		if got := m.DefaultPermissions[p.name]; got != p.level {
			t.Errorf("default_permissions.%s is %q, want %q (%s)", p.name, got, p.level, p.why)
		}
	}
	if len(m.DefaultPermissions) != len(perms) {
		t.Errorf("app.yml asks for %d permissions, want exactly %d: %v", len(m.DefaultPermissions), len(perms), m.DefaultPermissions)
	}
	for _, ev := range []string{"pull_request", "pull_request_review", "issue_comment", "check_run", "push", "merge_group"} {
		if !strings.Contains(strings.Join(m.DefaultEvents, " ")+" ", ev+" ") {
			t.Errorf("default_events lacks %s", ev)
		}
	}
}

func TestParseManifestErrors(t *testing.T) {
	const ok = "name: s\nurl: https://e.test\nhook_attributes: {url: https://h.test/hook}\n"
	tests := []struct{ name, yaml, want string }{
		{"unknown key", ok + "default_permission: {checks: write}\n", "app.yml:4: default_permission: unknown key"},
		{"no name", "url: https://e.test\nhook_attributes: {url: https://h.test/hook}\n", "name: is required"},
		{"relative webhook URL", "name: s\nurl: https://e.test\nhook_attributes: {url: /hook}\n", "app.yml:3: hook_attributes.url: must be a full URL"},
		{"implicit event", ok + "default_events: [push, installation]\n", "app.yml:4: default_events[1]: GitHub sends installation events to every App"},
		{"permission level", ok + "default_permissions: {checks: rw}\n", "default_permissions.checks: must be read, write or admin"},
		{"wrong type", ok + "public: maybe\n", "app.yml:4: public"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest("app.yml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestV4URL(t *testing.T) {
	for v3, want := range map[string]string{
		"https://api.github.com/":          "https://api.github.com/graphql",
		"https://api.github.com":           "https://api.github.com/graphql",
		"https://ghe.example.com/api/v3/":  "https://ghe.example.com/api/graphql",
		"http://127.0.0.1:4000/api/v3":     "http://127.0.0.1:4000/api/graphql",
		"https://proxy.example.com/github": "https://proxy.example.com/github/graphql",
	} {
		if got := V4URL(v3); got != want {
			t.Errorf("V4URL(%s) = %s, want %s", v3, got, want)
		}
	}
}

func TestPageURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:3000": "http://127.0.0.1:3000/",
		"0.0.0.0:3000":   "http://localhost:3000/",
		"[::]:3000":      "http://localhost:3000/",
		"[::1]:3000":     "http://[::1]:3000/",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := PageURL(a); got != want {
			t.Errorf("PageURL(%s) = %s, want %s", addr, got, want)
		}
	}
}
