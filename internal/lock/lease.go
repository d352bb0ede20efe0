package lock

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/util/retry"
)

// Leases is a Store of coordination.k8s.io/v1 Leases in one namespace, so
// every replica talking to that cluster shares the locks. Each lock is one
// Lease (see leaseName), taken by creating it and freed by deleting it, both
// conditional on what was read, so two replicas never both win. These locks
// do not expire: a pull request holds an environment until it merges,
// closes or unlocks, however long that takes.
type Leases struct {
	client    coordinationv1client.LeasesGetter
	namespace string
	now       func() time.Time
}

var _ Store = (*Leases)(nil)

// NewLeases keeps locks as Leases in namespace.
func NewLeases(client coordinationv1client.LeasesGetter, namespace string) *Leases {
	return &Leases{client: client, namespace: namespace, now: time.Now}
}

// contended retries a read-compare-write that lost to another writer. Each
// loss means someone else's write landed, so a few quick retries settle it.
var contended = wait.Backoff{Steps: 10, Duration: 5 * time.Millisecond, Factor: 2, Jitter: 0.5}

// errRaced marks an attempt that read state another writer has changed
// since (deleted between create and get, or a resourceVersion conflict).
var errRaced = errors.New("lease changed while being read")

func raced(err error) bool { return errors.Is(err, errRaced) || apierrors.IsConflict(err) }

// Acquire implements Store.
func (s *Leases) Acquire(ctx context.Context, key Key, holder Holder) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	holder = normalise(key, holder, s.now())
	name := leaseName(kindLock, key)
	err := retry.OnError(contended, raced, func() error {
		want := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.namespace}}
		holdLock(want, key, holder)
		_, err := s.leases().Create(ctx, want, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		cur, err := s.leases().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return errRaced // released since the create failed
		}
		if err != nil {
			return err
		}
		h, err := lockHolder(cur, key)
		switch {
		case err != nil:
			return err
		case h != nil && h.Same(holder):
			return nil // keeps the original Since
		case h != nil:
			return &ErrLocked{Key: key, Holder: *h}
		}
		// A Lease without a holder (emptied by hand): take it, unless
		// someone else does first.
		holdLock(cur, key, holder)
		_, err = s.leases().Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	return s.wrap(key, name, err)
}

// Release implements Store.
func (s *Leases) Release(ctx context.Context, key Key, holder Holder) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	holder = normalise(key, holder, s.now())
	name := leaseName(kindLock, key)
	_, err := s.deleteIf(ctx, key, name, func(h Holder) bool { return h.Same(holder) })
	return s.wrap(key, name, err)
}

// ReleasePR implements Store.
func (s *Leases) ReleasePR(ctx context.Context, repo string, pr int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := s.leases().List(ctx, metav1.ListOptions{LabelSelector: selector(kindLock, repo)})
	if err != nil {
		return nil, fmt.Errorf("list locks of %s in namespace %s: %w", repo, s.namespace, err)
	}
	freed := []string{}
	for i := range list.Items {
		key := keyOf(&list.Items[i])
		if !strings.EqualFold(key.Repo, repo) {
			continue
		}
		name := list.Items[i].Name
		deleted, err := s.deleteIf(ctx, key, name, func(h Holder) bool { return h.PR == pr })
		if err != nil {
			return nil, s.wrap(key, name, err)
		}
		if deleted {
			freed = append(freed, key.Env)
		}
	}
	sort.Strings(freed)
	return freed, nil
}

// Holder implements Store.
func (s *Leases) Holder(ctx context.Context, key Key) (*Holder, error) {
	if err := s.check(ctx, key); err != nil {
		return nil, err
	}
	name := leaseName(kindLock, key)
	cur, err := s.leases().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap(key, name, err)
	}
	h, err := lockHolder(cur, key)
	return h, s.wrap(key, name, err)
}

// List implements Store.
func (s *Leases) List(ctx context.Context, repo string) (map[string]Holder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := s.leases().List(ctx, metav1.ListOptions{LabelSelector: selector(kindLock, repo)})
	if err != nil {
		return nil, fmt.Errorf("list locks of %s in namespace %s: %w", repo, s.namespace, err)
	}
	held := map[string]Holder{}
	for i := range list.Items {
		key := keyOf(&list.Items[i])
		if !strings.EqualFold(key.Repo, repo) {
			continue // another repository whose hash collides; its name says which
		}
		h, err := lockHolder(&list.Items[i], key)
		if err != nil {
			return nil, s.wrap(key, list.Items[i].Name, err)
		}
		if h != nil {
			held[key.Env] = *h
		}
	}
	return held, nil
}

// Close implements Store. The Leases stay: they are the locks.
func (s *Leases) Close() error { return nil }

func (s *Leases) leases() coordinationv1client.LeaseInterface {
	return s.client.Leases(s.namespace)
}

func (s *Leases) check(ctx context.Context, key Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return key.validate()
}

// wrap names the environment and the Lease in an error, except for the
// answers callers act on (*ErrLocked, context errors), which stay as they are.
func (s *Leases) wrap(key Key, name string, err error) error {
	var locked *ErrLocked
	if err == nil || errors.As(err, &locked) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("lock %s: lease %s/%s: %w", key.Env, s.namespace, name, err)
}

// deleteIf deletes the Lease name if its holder satisfies match, on the
// condition that it is still the Lease read: a lock taken again meanwhile
// by someone else is never freed.
func (s *Leases) deleteIf(ctx context.Context, key Key, name string, match func(Holder) bool) (bool, error) {
	deleted := false
	err := retry.OnError(contended, raced, func() error {
		cur, err := s.leases().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		h, err := lockHolder(cur, key)
		if err != nil || h == nil || !match(*h) {
			return err
		}
		err = s.leases().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID, ResourceVersion: &cur.ResourceVersion}})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// holdLock writes key and holder into l. The annotations are the record;
// holderIdentity and acquireTime say the same for kubectl get lease.
func holdLock(l *coordinationv1.Lease, key Key, h Holder) {
	l.Labels = merge(l.Labels, leaseLabels(kindLock, key))
	l.Annotations = merge(l.Annotations, map[string]string{
		annotationRepo:   key.Repo,
		annotationEnv:    key.Env,
		annotationHolder: h.Repo,
		annotationPR:     strconv.Itoa(h.PR),
		annotationSince:  h.Since.Format(time.RFC3339Nano),
	})
	identity := fmt.Sprintf("%s#%d", h.Repo, h.PR)
	since := metav1.NewMicroTime(h.Since)
	l.Spec = coordinationv1.LeaseSpec{HolderIdentity: &identity, AcquireTime: &since}
}

// lockHolder reads the holder of a lock Lease; nil when it has none.
func lockHolder(l *coordinationv1.Lease, key Key) (*Holder, error) {
	if err := checkKey(l, key); err != nil {
		return nil, err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return nil, nil
	}
	a := l.Annotations
	pr, err := strconv.Atoi(a[annotationPR])
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %q is not a pull request number", annotationPR, a[annotationPR])
	}
	since, err := time.Parse(time.RFC3339Nano, a[annotationSince])
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %q is not an RFC 3339 time", annotationSince, a[annotationSince])
	}
	repo := a[annotationHolder]
	if repo == "" {
		repo = key.Repo
	}
	return &Holder{Repo: repo, PR: pr, Since: since.UTC()}, nil
}

func merge(into, from map[string]string) map[string]string {
	if into == nil {
		into = map[string]string{}
	}
	for k, v := range from {
		into[k] = v
	}
	return into
}
