package plan

import (
	"context"
	"slices"
	"sync"
)

// Warnings the apiserver returns with a dry-run (a deprecated API version, an
// admission policy in Warn mode, a duplicate port) are for the reviewer: the
// engine's client hands each to the plan item whose request drew it, found
// through the request's context, instead of logging it.

type warningsKey struct{}

// warnings collects one object's warnings; client-go may call the handler
// from the goroutine reading the response.
type warnings struct {
	mu    sync.Mutex
	texts []string
}

func (w *warnings) add(text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.texts, text) {
		w.texts = append(w.texts, text)
	}
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.texts)
}

func withWarnings(ctx context.Context, w *warnings) context.Context {
	return context.WithValue(ctx, warningsKey{}, w)
}

// warningCollector is the engine's rest.WarningHandlerWithContext. Warnings
// on requests made without a collector (inventory reads) are dropped: they
// concern no object of the plan.
type warningCollector struct{}

func (warningCollector) HandleWarningHeaderWithContext(ctx context.Context, _ int, _, text string) {
	if w, ok := ctx.Value(warningsKey{}).(*warnings); ok && text != "" {
		w.add(text)
	}
}
