// Package recovery turns a panic into an error that carries its stack, so
// one bad input or bug stops one piece of work, never the server.
package recovery

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// Panic is a recovered panic. Its message is for logs only: the value may
// quote internals, so what a user reads must not be built from it.
type Panic struct {
	Value any
	Stack []byte // of the goroutine that panicked
}

func (p *Panic) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Call runs fn and returns its error, or a *Panic if it panicked.
func Call(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = of(r)
		}
	}()
	return fn()
}

// of wraps a recovered value, keeping the stack of a *Panic re-raised from
// another goroutine (see Caught).
func of(r any) *Panic {
	if p, ok := r.(*Panic); ok {
		return p
	}
	return &Panic{Value: r, Stack: debug.Stack()}
}

// Caught carries the first panic of a group of goroutines to the one that
// waits for them, which re-raises it where the work's own recovery (the
// run queue job's, say) reports it. A panic in a goroutine nobody recovers
// ends the process, whatever its parent does.
//
//	var caught recovery.Caught
//	for ... { wg.Go(func() { defer caught.Recover(); ... }) }
//	wg.Wait()
//	caught.Repanic()
type Caught struct {
	mu sync.Mutex
	p  *Panic
}

// Recover must be deferred directly by the goroutine: it stops the panic
// and keeps it (the first one) for Repanic.
func (c *Caught) Recover() {
	r := recover()
	if r == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		c.p = of(r)
	}
}

// Repanic panics with the kept *Panic, if any goroutine panicked.
func (c *Caught) Repanic() {
	c.mu.Lock()
	p := c.p
	c.mu.Unlock()
	if p != nil {
		panic(p)
	}
}
