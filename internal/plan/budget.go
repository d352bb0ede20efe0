package plan

import (
	"net/http"
)

// Budget bounds the requests in flight to one cluster across every engine
// that shares it: a pull request that affects 50 environments plans them
// at once, and without one budget per cluster each plan would open its own
// Concurrency requests (50×32), which API Priority and Fairness answers by
// throttling everyone on that cluster. A request holds its slot until the
// server's answer starts; waiting for a slot honours the request's context.
type Budget struct{ slots chan struct{} }

// NewBudget allows n requests in flight (DefaultConcurrency when n <= 0).
func NewBudget(n int) *Budget {
	if n <= 0 {
		n = DefaultConcurrency
	}
	return &Budget{slots: make(chan struct{}, n)}
}

// Size is how many requests may be in flight.
func (b *Budget) Size() int { return cap(b.slots) }

// wrap makes next wait for a slot of b for each request.
func (b *Budget) wrap(next http.RoundTripper) http.RoundTripper {
	return budgeted{b: b, next: next}
}

type budgeted struct {
	b    *Budget
	next http.RoundTripper
}

func (t budgeted) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case t.b.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-t.b.slots }()
	return t.next.RoundTrip(r)
}
