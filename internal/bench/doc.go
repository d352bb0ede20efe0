// Package bench measures `slipway plan` against `kubectl diff --server-side`
// and `slipway apply` against `kubectl apply --server-side`, each against the
// floor of the API requests any such tool must make, on a real
// kube-apiserver, and `slipway serve` with one pull request that affects 50
// environments, from the delivery to the sticky comment, against githubsim.
// It holds benchmarks, which `make bench` runs, and the unit tests of their
// request counting.
package bench
