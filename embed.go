// Package slipway holds the repository files the slipway binary carries:
// the GitHub App manifest, app.yml.
//
// It sits at the top of the repository because app.yml is meant to be found
// there, and go:embed cannot reach files in a parent directory.
package slipway

import _ "embed"

// AppManifest is app.yml, the GitHub App manifest `slipway setup` registers.
//
//go:embed app.yml
var AppManifest []byte
