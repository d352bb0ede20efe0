//go:build tools

// Package source pins Flux's source-controller, which testenv.StartFlux runs.
package source

import _ "github.com/fluxcd/source-controller"
