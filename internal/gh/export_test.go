package gh

import "github.com/slipwayhq/slipway/internal/backoff"

// SetWriteBackoff lets the external tests (which use testkit/world, and so
// cannot be in this package) retry lost writes quickly.
func SetWriteBackoff(p backoff.Policy) { writeBackoff = p }
