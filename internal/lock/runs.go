package lock

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Runs marks the applies in progress, one at a time per environment. A
// pull request's lock (Store) says who may apply; a run says that an apply
// is happening now and on which replica, so a second replica does not
// apply the same environment at the same time, and a replica that dies
// mid-apply does not block the environment for longer than its lease.
type Runs interface {
	// Begin marks an apply of key as running on this replica, or returns
	// *ErrRunning naming the replica already running one. what says what is
	// applied ("#12 at 1a2b3c4"), for that error. The returned context is
	// ctx, cancelled (with cause ErrRunLost) if the run's claim lapses
	// before end is called; end must be called when the apply is over.
	Begin(ctx context.Context, key Key, what string) (context.Context, func(), error)
	// Running returns the apply of key in progress on any replica, or nil.
	Running(ctx context.Context, key Key) (*Run, error)
	// Lapsed returns the keys of repo's runs that ended without their
	// end being called: their replica died mid-run. Each stays lapsed
	// until Clear or a new Begin of its key.
	Lapsed(ctx context.Context, repo string) ([]Key, error)
	// Clear forgets key's run if it has lapsed; a live run stays.
	Clear(ctx context.Context, key Key) error
}

// Run is an apply in progress.
type Run struct {
	Replica string    // the replica's identity
	What    string    // what it applies
	Since   time.Time // when it began
}

// ErrRunning is returned by Begin while another apply of the key runs.
type ErrRunning struct {
	Key Key
	Run Run
}

func (e *ErrRunning) Error() string {
	what := ""
	if e.Run.What != "" {
		what = " (" + e.Run.What + ")"
	}
	return fmt.Sprintf("an apply of %s is running on replica %s%s since %s; try again when it has finished",
		e.Key.Env, e.Run.Replica, what, e.Run.Since.UTC().Format(time.RFC3339))
}

// ErrRunLost is the cause of a run's context ending because this replica
// could not keep its claim on the environment: another replica may now
// apply it, so this one must stop.
var ErrRunLost = errors.New("this replica lost its claim on the environment (its run lease could not be renewed)")

// Local is Runs for a single replica: applies in this process exclude one
// another; nothing outlives the process.
type Local struct {
	replica string
	now     func() time.Time
	mu      sync.Mutex
	running map[string]Run
}

var _ Runs = (*Local)(nil)

// NewLocal returns Runs within this process, which identifies itself as
// replica in errors.
func NewLocal(replica string) *Local {
	return &Local{replica: replica, now: time.Now, running: map[string]Run{}}
}

// Running implements Runs.
func (l *Local) Running(_ context.Context, key Key) (*Run, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.running[strings.ToLower(key.Repo)+"\x00"+key.Env]; ok {
		return &r, nil
	}
	return nil, nil
}

// Lapsed implements Runs: a process's runs die with it, so none lapse.
func (l *Local) Lapsed(context.Context, string) ([]Key, error) { return nil, nil }

// Clear implements Runs.
func (l *Local) Clear(context.Context, Key) error { return nil }

// Begin implements Runs.
func (l *Local) Begin(ctx context.Context, key Key, what string) (context.Context, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := key.validate(); err != nil {
		return nil, nil, err
	}
	k := strings.ToLower(key.Repo) + "\x00" + key.Env
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.running[k]; ok {
		return nil, nil, &ErrRunning{Key: key, Run: r}
	}
	l.running[k] = Run{Replica: l.replica, What: what, Since: l.now()}
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.running, k)
			l.mu.Unlock()
		})
	}, nil
}
