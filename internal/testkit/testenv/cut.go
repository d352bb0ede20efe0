package testenv

import (
	"context"
	"errors"
	"sync/atomic"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
)

// ErrCut is what a CuttableLeases answers once cut.
var ErrCut = errors.New("cut off from the API server")

// CuttableLeases fails every Lease request once Cut is set, like a replica
// that lost the API server or died; clearing Cut brings it back.
type CuttableLeases struct {
	coordinationv1client.LeasesGetter
	Cut atomic.Bool
}

// Leases implements coordinationv1client.LeasesGetter.
func (c *CuttableLeases) Leases(ns string) coordinationv1client.LeaseInterface {
	return cutLeases{c.LeasesGetter.Leases(ns), &c.Cut}
}

type cutLeases struct {
	coordinationv1client.LeaseInterface
	cut *atomic.Bool
}

func (l cutLeases) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	if l.cut.Load() {
		return nil, ErrCut
	}
	return l.LeaseInterface.Get(ctx, name, o)
}

func (l cutLeases) Create(ctx context.Context, x *coordinationv1.Lease, o metav1.CreateOptions) (*coordinationv1.Lease, error) {
	if l.cut.Load() {
		return nil, ErrCut
	}
	return l.LeaseInterface.Create(ctx, x, o)
}

func (l cutLeases) Update(ctx context.Context, x *coordinationv1.Lease, o metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if l.cut.Load() {
		return nil, ErrCut
	}
	return l.LeaseInterface.Update(ctx, x, o)
}

func (l cutLeases) Delete(ctx context.Context, name string, o metav1.DeleteOptions) error {
	if l.cut.Load() {
		return ErrCut
	}
	return l.LeaseInterface.Delete(ctx, name, o)
}
