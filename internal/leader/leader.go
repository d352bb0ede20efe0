// Package leader picks the one replica that runs slipway's periodic work,
// through client-go's leader election on a Lease.
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/slipwayhq/slipway/internal/logging"
)

// LeaseName is the Lease the replicas compete for.
const LeaseName = "slipway-leader"

// Elector runs work on one replica at a time.
type Elector interface {
	// Run calls fn while this replica leads, with a context cancelled when
	// it stops leading, and again each time it leads anew, until ctx ends.
	// fn must return once its context is cancelled: the next term, here or
	// on another replica, waits for it.
	Run(ctx context.Context, fn func(ctx context.Context))
}

// Alone is the Elector of a single replica: it always leads.
type Alone struct{}

// Run implements Elector.
func (Alone) Run(ctx context.Context, fn func(ctx context.Context)) { fn(ctx) }

// Identity names this replica: its host name (the pod's name in
// Kubernetes) and a random suffix, so that a restarted pod is a new holder.
func Identity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "slipway"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return host + "-" + hex.EncodeToString(b)
}

// Lease elects through the Lease LeaseName in one namespace.
type Lease struct {
	client    coordinationv1client.LeasesGetter
	namespace string
	identity  string
	duration  time.Duration
	log       zerolog.Logger
}

var _ Elector = (*Lease)(nil)

// NewLease elects among the replicas sharing namespace. A leader that stops
// renewing loses the Lease after duration (client-go's default is 15s;
// renewals give up after two thirds of it and are retried every 2/15).
func NewLease(client coordinationv1client.LeasesGetter, namespace, identity string, duration time.Duration, log zerolog.Logger) *Lease {
	return &Lease{client: client, namespace: namespace, identity: identity, duration: duration, log: log.With().Str("identity", identity).Logger()}
}

// Run implements Elector.
func (e *Lease) Run(ctx context.Context, fn func(ctx context.Context)) {
	for ctx.Err() == nil {
		if err := e.term(ctx, fn); err != nil {
			e.log.Error().Err(err).Msg("leader election")
			return
		}
	}
}

// term campaigns, leads until the Lease is lost or ctx ends, and returns
// once fn has returned.
func (e *Lease) term(ctx context.Context, fn func(ctx context.Context)) error {
	// The election outlives ctx until fn has returned, so that releasing
	// the Lease (ReleaseOnCancel) never lets another replica lead while
	// this one's fn still runs.
	electCtx, stopElection := context.WithCancel(klog.NewContext(context.WithoutCancel(ctx), logging.Logr(e.log)))
	defer stopElection()
	var (
		mu       sync.Mutex
		stopping bool
		running  sync.WaitGroup
	)
	unwatch := context.AfterFunc(ctx, func() {
		mu.Lock()
		stopping = true
		mu.Unlock()
		running.Wait()
		stopElection()
	})
	defer unwatch()

	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Name: LeaseName, Namespace: e.namespace},
			Client:     e.client,
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.identity},
		},
		LeaseDuration:   e.duration,
		RenewDeadline:   e.duration * 2 / 3,
		RetryPeriod:     e.duration * 2 / 15,
		ReleaseOnCancel: true,
		Name:            LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				mu.Lock()
				if stopping {
					mu.Unlock()
					return
				}
				running.Add(1)
				mu.Unlock()
				defer running.Done()
				leading, cancel := context.WithCancel(leading)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				e.log.Info().Msg("leading")
				fn(leading)
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				if id != e.identity {
					e.log.Info().Str("leader", id).Msg("following")
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("lease %s/%s: %w", e.namespace, LeaseName, err)
	}
	elector.Run(electCtx)
	// client-go starts OnStartedLeading in a goroutine it does not wait
	// for: one that has not started yet must not start fn now.
	mu.Lock()
	stopping = true
	mu.Unlock()
	running.Wait()
	if ctx.Err() == nil {
		e.log.Warn().Msg("lost leadership; campaigning again")
	}
	return nil
}
