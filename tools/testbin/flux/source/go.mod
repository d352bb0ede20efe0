// Tool module: builds Flux's source-controller for the tests that run Flux
// for real (testenv.StartFlux). The first replace is the controller's own.
module github.com/slipwayhq/slipway/tools/testbin/flux/source

go 1.26.0

require github.com/fluxcd/source-controller v1.9.6

replace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be

// v0.18.3 is not served by the module proxy; v0.18.0 has the same API.
replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0
