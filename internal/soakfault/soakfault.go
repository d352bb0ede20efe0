// Package soakfault breaks slipway on purpose, one promise at a time, so
// that the chaos soak (internal/soak) can show each of its invariant
// checks fails when the promise is broken. The faults exist only in a
// binary built with `-tags soakfault`, which only the soak builds; in every
// other build On is a constant false and the compiler drops the broken
// branches.
package soakfault

// Env is the environment variable that names the fault a soakfault build
// turns on.
const Env = "SLIPWAY_SOAKFAULT"

// The faults, one per invariant of the soak (see internal/soak/check.go).
const (
	DeployStall     = "deploy-stall"     // 1: merge-to-deploy does nothing
	GateOpen        = "gate-open"        // 2: /apply ignores a failing policy
	DigestSwap      = "digest-swap"      // 3: the Deployment records another plan
	CheckLeftOpen   = "check-left-open"  // 4: apply check runs are never completed
	NamespaceEscape = "namespace-escape" // 5: the server's namespace bounds are not enforced
	SecretLeak      = "secret-leak"      // 6: Secret values are not masked in plans
	ApplyCut        = "apply-cut"        // 7: /apply is cancelled a moment after it starts
	SlowWebhook     = "slow-webhook"     // 8: comment webhooks are answered after 11 s
)

// All lists the faults in invariant order.
var All = []string{DeployStall, GateOpen, DigestSwap, CheckLeftOpen, NamespaceEscape, SecretLeak, ApplyCut, SlowWebhook}
