//go:build !soakfault

package soakfault

// On reports whether fault is turned on: never, in a production build.
func On(string) bool { return false }
