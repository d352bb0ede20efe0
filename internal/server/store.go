package server

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipwayhq/slipway/internal/config"
	"github.com/slipwayhq/slipway/internal/kube"
	"github.com/slipwayhq/slipway/internal/leader"
	"github.com/slipwayhq/slipway/internal/lock"
)

// storeCheckTimeout bounds the start-up check that the Lease namespace is
// reachable and permitted.
const storeCheckTimeout = 10 * time.Second

// replicaState is what the replicas share, from store: which pull request
// holds each environment, which replica is applying it, and who leads.
type replicaState struct {
	identity string
	locks    lock.Store
	runs     lock.Runs
	elector  leader.Elector
}

// openStore builds the replica state store.kind asks for: bolt for one
// replica, or Leases in store.namespace for several.
func openStore(cfg *config.Config, log zerolog.Logger) (*replicaState, error) {
	identity := leader.Identity()
	if cfg.Store.Kind != config.StoreKubernetes {
		locks, err := lock.OpenBolt(cfg.Store.Path)
		if err != nil {
			return nil, fmt.Errorf("store.path: %w", err)
		}
		return &replicaState{identity: identity, locks: locks, runs: lock.NewLocal(identity), elector: leader.Alone{}}, nil
	}

	rc, where, err := kube.StoreCluster(cfg)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("store.cluster: %s: %w", where, err)
	}
	ns, leases := cfg.Store.Namespace, client.CoordinationV1()
	ctx, cancel := context.WithTimeout(context.Background(), storeCheckTimeout)
	defer cancel()
	if _, err := leases.Leases(ns).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return nil, fmt.Errorf("store.namespace: cannot list Leases in namespace %q of %s (slipway needs get, list, create, update and delete on leases.coordination.k8s.io there): %w", ns, where, err)
	}
	d := time.Duration(cfg.Store.LeaseDuration)
	log.Info().Str("identity", identity).Str("namespace", ns).Str("cluster", where).Msg("sharing locks and leadership through Leases")
	return &replicaState{
		identity: identity,
		locks:    lock.NewLeases(leases, ns),
		runs:     lock.NewLeaseRuns(leases, ns, identity, d),
		elector:  leader.NewLease(leases, ns, identity, d, log),
	}, nil
}
