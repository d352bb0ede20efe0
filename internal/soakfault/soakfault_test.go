//go:build !soakfault

package soakfault

import "testing"

// A production build has no way to turn a fault on, whatever the
// environment says.
func TestOffInProductionBuilds(t *testing.T) {
	for _, f := range All {
		t.Setenv(Env, f)
		if On(f) {
			t.Errorf("fault %s is on in a build without the soakfault tag", f)
		}
	}
}
