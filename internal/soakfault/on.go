//go:build soakfault

package soakfault

import "os"

// active is read once: a fault is a property of the process.
var active = os.Getenv(Env)

// On reports whether fault is the one SLIPWAY_SOAKFAULT names.
func On(fault string) bool { return fault != "" && fault == active }
