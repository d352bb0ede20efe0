package transport

// The retry reasons as metrics label them, for the external tests (which
// use testkit/world, and so cannot be in this package).
const (
	ReasonSecondary = reasonSecondary
	ReasonPrimary   = reasonPrimary
	ReasonServer    = reasonServer
)
