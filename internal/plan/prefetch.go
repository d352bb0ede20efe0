package plan

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/recovery"
	"github.com/slipwayhq/slipway/internal/render"
	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// prefetchHold is how many listed members a prefetch keeps whole while the
// render has not answered yet; past it the LISTs wait for the render. The
// fast path decides each member from the rendered object, so a member
// listed first is held with its managed fields until then: two pages of a
// LIST are a few MiB, and a plan of 10,000 members does not hold them all.
var prefetchHold = 2 * listPageSize // a variable for tests

// Render makes the objects a plan is computed from (a renderproc child, in
// slipway); its error is returned by the plan as it is.
type Render func(ctx context.Context) (*render.Result, error)

// ComputeRendering is ComputeWithObjects with the render made by render
// while the engine reads the environment's inventory and lists its members:
// neither needs the other, and for an environment of 1,000 objects each
// takes about a tenth of a second. What is read is the same as when the
// reads follow the render; they only start earlier.
func (e *Engine) ComputeRendering(ctx context.Context, env *repoconfig.Environment, basis Basis, render Render) (*Plan, []*unstructured.Unstructured, error) {
	if env == nil || render == nil {
		return nil, nil, errNoInput
	}
	ctx, cancel := context.WithCancel(ctx)
	pre := e.prefetch(ctx, basis.Repository, env)
	// The reads end before this returns: a failed render (or plan) ends
	// them with ctx.
	defer func() { cancel(); pre.wait() }()
	rendered, err := render(ctx)
	if err != nil {
		return nil, nil, err
	}
	if rendered == nil {
		return nil, nil, errNoInput
	}
	return e.compute(ctx, env, basis, rendered, pre)
}

// prefetched is an environment's inventory being read, and its members
// listed, before the plan knows its rendered objects.
type prefetched struct {
	parentRead chan struct{} // closed once parent and parentErr are set
	parent     *parent
	parentErr  error

	ready  chan struct{} // closed once settle is set
	settle func(*unstructured.Unstructured) *unstructured.Unstructured
	mu     sync.Mutex
	held   []objectKey // members listed before settle was set, kept whole

	done    chan struct{} // closed once members and listErr are set
	members members
	listErr error
	caught  recovery.Caught
}

// prefetch starts reading repository repo's environment env: its parent,
// then its members, each settled (see Engine.settler) once the plan hands
// its settle over (members), or held whole until then.
func (e *Engine) prefetch(ctx context.Context, repo string, env *repoconfig.Environment) *prefetched {
	pf := &prefetched{parentRead: make(chan struct{}), ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pf.done)
		defer pf.caught.Recover()
		read := false
		defer func() {
			if !read { // a panic reading the parent: release its waiter
				close(pf.parentRead)
			}
		}()
		pf.parent, pf.parentErr = e.parentFor(ctx, repo, env)
		read = true
		close(pf.parentRead)
		if pf.parentErr != nil {
			return
		}
		pf.members, pf.listErr = e.membersOf(ctx, pf.parent, func(u *unstructured.Unstructured) *unstructured.Unstructured {
			return pf.settleOrHold(ctx, u)
		})
	}()
	return pf
}

// settleOrHold settles u when the plan's settle is known; before that it
// holds u whole, up to prefetchHold members, and then waits for it.
func (pf *prefetched) settleOrHold(ctx context.Context, u *unstructured.Unstructured) *unstructured.Unstructured {
	select {
	case <-pf.ready:
		return pf.settle(u)
	default:
	}
	pf.mu.Lock()
	if len(pf.held) < prefetchHold {
		pf.held = append(pf.held, keyOf(u))
		pf.mu.Unlock()
		return u
	}
	pf.mu.Unlock()
	select {
	case <-pf.ready:
		return pf.settle(u)
	case <-ctx.Done():
		return u // the LIST's next request fails with ctx
	}
}

// readParent waits for the parent.
func (pf *prefetched) readParent() (*parent, error) {
	<-pf.parentRead
	if pf.parent == nil && pf.parentErr == nil {
		pf.wait() // it panicked: raise it here
	}
	return pf.parent, pf.parentErr
}

// listed hands settle over, waits for the members, and settles those held
// meanwhile. Each member passes through settle once.
func (pf *prefetched) listed(settle func(*unstructured.Unstructured) *unstructured.Unstructured) (members, error) {
	pf.mu.Lock()
	pf.settle = settle
	close(pf.ready)
	pf.mu.Unlock()
	pf.wait()
	if pf.listErr != nil {
		return nil, pf.listErr
	}
	for _, k := range pf.held {
		if u := pf.members[k]; u != nil {
			pf.members[k] = settle(u)
		}
	}
	return pf.members, nil
}

// wait waits for the reads to end, raising a panic of theirs here.
func (pf *prefetched) wait() {
	<-pf.done
	pf.caught.Repanic()
}
