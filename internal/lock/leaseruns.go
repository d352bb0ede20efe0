package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/util/retry"
)

// DefaultRunLease is how long a run Lease lasts unless renewed: how long a
// replica that died mid-apply keeps its environment from the others.
const DefaultRunLease = 15 * time.Second

// LeaseRuns is Runs shared by every replica talking to one cluster: a run is
// a Lease held by the replica's identity, with leaseDurationSeconds,
// renewed a few times per duration while the apply goes on and deleted when
// it ends. A Lease not renewed within its duration has expired, and the
// next Begin takes it over.
//
// Expiry compares the holder's renewTime with this replica's clock, so the
// replicas' clocks must agree to well within the duration (NTP does).
type LeaseRuns struct {
	client    coordinationv1client.LeasesGetter
	namespace string
	replica   string
	duration  time.Duration
	now       func() time.Time
}

var _ Runs = (*LeaseRuns)(nil)

// NewLeaseRuns keeps runs as Leases in namespace, held by replica, each
// lasting duration (whole seconds, at least one) unless renewed.
func NewLeaseRuns(client coordinationv1client.LeasesGetter, namespace, replica string, duration time.Duration) *LeaseRuns {
	if duration < time.Second {
		duration = time.Second
	}
	return &LeaseRuns{client: client, namespace: namespace, replica: replica, duration: duration.Round(time.Second), now: time.Now}
}

// Begin implements Runs.
func (r *LeaseRuns) Begin(ctx context.Context, key Key, what string) (context.Context, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := key.validate(); err != nil {
		return nil, nil, err
	}
	name := leaseName(kindRun, key)
	id := runID()
	var held *coordinationv1.Lease
	err := retry.OnError(contended, raced, func() error {
		now := r.now()
		want := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.namespace}}
		r.claim(want, key, what, id, now)
		got, err := r.leases().Create(ctx, want, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			held = got
			return err
		}
		cur, err := r.leases().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return errRaced // ended since the create failed
		}
		if err != nil {
			return err
		}
		if err := checkKey(cur, key); err != nil {
			return err
		}
		if run, live := r.live(cur, now); live {
			return &ErrRunning{Key: key, Run: run}
		}
		// Ended without being deleted, or its replica died: take it over.
		transitions := int32(1)
		if cur.Spec.LeaseTransitions != nil {
			transitions += *cur.Spec.LeaseTransitions
		}
		r.claim(cur, key, what, id, now)
		cur.Spec.LeaseTransitions = &transitions
		held, err = r.leases().Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		var running *ErrRunning
		if errors.As(err, &running) || ctx.Err() != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("run of %s: lease %s/%s: %w", key.Env, r.namespace, name, err)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	log := zerolog.Ctx(ctx).With().Str("lease", r.namespace+"/"+name).Logger()
	stopCtx, stop := context.WithCancel(context.Background())
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		r.renew(stopCtx, log, held, id, cancel)
	}()
	var once sync.Once
	end := func() {
		once.Do(func() {
			stop()
			<-renewed
			cancel(nil)
			r.release(log, name, id)
		})
	}
	return runCtx, end, nil
}

// claim writes this replica's run of key into l.
func (r *LeaseRuns) claim(l *coordinationv1.Lease, key Key, what, id string, now time.Time) {
	l.Labels = merge(l.Labels, leaseLabels(kindRun, key))
	l.Annotations = merge(l.Annotations, map[string]string{
		annotationRepo:  key.Repo,
		annotationEnv:   key.Env,
		annotationWhat:  what,
		annotationRunID: id,
	})
	seconds := int32(math.Ceil(r.duration.Seconds()))
	t := metav1.NewMicroTime(now)
	l.Spec.HolderIdentity = &r.replica
	l.Spec.LeaseDurationSeconds = &seconds
	l.Spec.AcquireTime = &t
	l.Spec.RenewTime = &t
}

// Running implements Runs.
func (r *LeaseRuns) Running(ctx context.Context, key Key) (*Run, error) {
	if err := key.validate(); err != nil {
		return nil, err
	}
	l, err := r.leases().Get(ctx, leaseName(kindRun, key), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the run lease of %s: %w", key.Env, err)
	}
	if run, ok := r.live(l, r.now()); ok {
		return &run, nil
	}
	return nil, nil
}

// Lapsed implements Runs: repo's run Leases that expired without being
// released.
func (r *LeaseRuns) Lapsed(ctx context.Context, repo string) ([]Key, error) {
	list, err := r.leases().List(ctx, metav1.ListOptions{LabelSelector: selector(kindRun, repo)})
	if err != nil {
		return nil, fmt.Errorf("list the run leases of %s: %w", repo, err)
	}
	now := r.now()
	var out []Key
	for i := range list.Items {
		l := &list.Items[i]
		if _, live := r.live(l, now); live || !strings.EqualFold(l.Annotations[annotationRepo], repo) {
			continue
		}
		out = append(out, keyOf(l))
	}
	return out, nil
}

// Clear implements Runs: it deletes key's Lease if it has expired,
// unless a Begin took it over meanwhile (the delete's preconditions).
func (r *LeaseRuns) Clear(ctx context.Context, key Key) error {
	if err := key.validate(); err != nil {
		return err
	}
	name := leaseName(kindRun, key)
	l, err := r.leases().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read the run lease of %s: %w", key.Env, err)
	}
	if _, live := r.live(l, r.now()); live || checkKey(l, key) != nil {
		return nil
	}
	err = r.leases().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &l.UID, ResourceVersion: &l.ResourceVersion}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or taken over: either way not lapsed
	}
	return err
}

// live reports whether l is held and was renewed within its duration.
func (r *LeaseRuns) live(l *coordinationv1.Lease, now time.Time) (Run, bool) {
	s := l.Spec
	if s.HolderIdentity == nil || *s.HolderIdentity == "" || s.RenewTime == nil {
		return Run{}, false
	}
	d := r.duration
	if s.LeaseDurationSeconds != nil {
		d = time.Duration(*s.LeaseDurationSeconds) * time.Second
	}
	run := Run{Replica: *s.HolderIdentity, What: l.Annotations[annotationWhat], Since: s.RenewTime.Time}
	if s.AcquireTime != nil {
		run.Since = s.AcquireTime.Time
	}
	return run, now.Before(s.RenewTime.Add(d))
}

// renew keeps the run's Lease fresh until stop ends. When it cannot, and
// the next try would come too close to the moment the other replicas see
// the Lease expire (or another replica already holds it), it cancels the
// run with ErrRunLost, so that this apply stops before another may begin.
func (r *LeaseRuns) renew(stop context.Context, log zerolog.Logger, held *coordinationv1.Lease, id string, lost context.CancelCauseFunc) {
	every := r.duration / 3
	last := r.now() // no later than the renewTime the Lease holds
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop.Done():
			return
		case <-tick.C:
		}
		at := r.now()
		ctx, cancel := context.WithTimeout(stop, every)
		next, err := r.renewOnce(ctx, held, id)
		cancel()
		// Half a period of margin for request latency and clock skew.
		giveUp := last.Add(r.duration - every/2)
		switch {
		case stop.Err() != nil:
			return // the run ended during the request
		case err == nil:
			held, last = next, at
		case errors.Is(err, errNotOurs):
			log.Error().Msg("run lease taken by another replica; stopping the apply")
			lost(ErrRunLost)
			return
		case r.now().Add(every).After(giveUp):
			log.Error().Err(err).Dur("since_renewed", r.now().Sub(last)).Msg("run lease not renewed in time; stopping the apply")
			lost(ErrRunLost)
			return
		default:
			log.Warn().Err(err).Msg("renew run lease; retrying")
		}
	}
}

var errNotOurs = errors.New("run lease is no longer this run's")

// renewOnce moves the Lease's renewTime to now if it is still this run's.
func (r *LeaseRuns) renewOnce(ctx context.Context, held *coordinationv1.Lease, id string) (*coordinationv1.Lease, error) {
	upd := held.DeepCopy()
	t := metav1.NewMicroTime(r.now())
	upd.Spec.RenewTime = &t
	got, err := r.leases().Update(ctx, upd, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		return got, err
	}
	// Someone wrote the Lease: still ours, or taken over?
	cur, err := r.leases().Get(ctx, held.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, errNotOurs
	}
	if err != nil {
		return nil, err
	}
	if !r.ours(cur, id) {
		return nil, errNotOurs
	}
	cur.Spec.RenewTime = &t
	return r.leases().Update(ctx, cur, metav1.UpdateOptions{})
}

func (r *LeaseRuns) ours(l *coordinationv1.Lease, id string) bool {
	return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == r.replica && l.Annotations[annotationRunID] == id
}

// release deletes the run's Lease if it is still this run's, so the next
// apply need not wait for it to expire. Failing that, it expires.
func (r *LeaseRuns) release(log zerolog.Logger, name, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), r.duration)
	defer cancel()
	err := retry.OnError(contended, apierrors.IsConflict, func() error {
		cur, err := r.leases().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil || !r.ours(cur, id) {
			return err
		}
		err = r.leases().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID, ResourceVersion: &cur.ResourceVersion}})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		log.Warn().Err(err).Dur("expires_within", r.duration).Msg("release run lease; it will expire")
	}
}

func (r *LeaseRuns) leases() coordinationv1client.LeaseInterface {
	return r.client.Leases(r.namespace)
}

// runID tells this replica's runs apart, so that a run ending never
// deletes a later run's Lease.
func runID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
