// Package templates holds the text/template files for everything slipway
// writes for people to read: the sticky plan comment, check run reports and
// terminal output.
//
// It lives here, at the top of the repository and not inside
// internal/report, because the templates are meant to be found and edited by
// anyone changing what a reviewer reads, and go:embed cannot reach files in a
// parent directory: the embedding package has to sit beside them.
package templates

import "embed"

// FS holds every *.tmpl file in this directory; internal/report parses them
// once at start-up.
//
//go:embed *.tmpl
var FS embed.FS
