// Package bench measures `slipway plan` against `kubectl diff --server-side`
// and `slipway apply` against `kubectl apply --server-side`, each against the
// floor of the API requests any such tool must make, on a real
// kube-apiserver. It holds only benchmarks; `make bench` runs them.
package bench
