//go:build tools

// Package kustomize pins Flux's kustomize-controller, which testenv.StartFlux runs.
package kustomize

import _ "github.com/fluxcd/kustomize-controller"
