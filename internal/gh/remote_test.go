package gh

import "testing"

func TestParseRemote(t *testing.T) {
	tests := []struct {
		remote, want string // want "" for an error
	}{
		{"https://github.com/acme/shop.git", "acme/shop"},
		{"https://github.com/acme/shop", "acme/shop"},
		{"https://x-access-token:t@github.com/acme/shop.git/", "acme/shop"},
		{"git@github.com:acme/shop.git", "acme/shop"},
		{"git@ghe.example.com:Acme/Shop", "Acme/Shop"},
		{"ssh://git@github.com:22/acme/shop.git", "acme/shop"},
		{"git://github.com/acme/shop.git\n", "acme/shop"},
		{"/srv/git/shop.git", ""},
		{"file:///srv/git/acme/shop.git", ""},
		{"../shop", ""},
		{"https://ghe.example.com/scm/acme/shop.git", ""},
		{"https://github.com/acme", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, err := ParseRemote(tc.remote)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseRemote(%q) = %s, want an error", tc.remote, got)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("ParseRemote(%q) = %s, %v; want %s", tc.remote, got, err, tc.want)
		}
	}
}
