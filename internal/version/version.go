// Package version holds the build's version, set by the linker.
package version

// Set with -ldflags "-X github.com/slipwayhq/slipway/internal/version.Version=v1.2.3".
var (
	Version = "dev"
	Commit  = "unknown"
)

// String is the version as `slipway version` prints it.
func String() string { return Version + " (" + Commit + ")" }
