package registration

import (
	"context"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

// Store is what the registration API reads and writes: cp/store
// implements it on etcd, a test in memory. Methods return errors that match
// registry.ErrLeaseNotFound, registry.ErrInvalid or registry.ErrUnavailable
// where they apply.
type Store interface {
	// Register stores in under a new lease of ttl.
	Register(ctx context.Context, in registry.Instance, ttl time.Duration) (registry.LeaseID, error)
	// Update stores in under an existing lease (a new weight, say).
	Update(ctx context.Context, lease registry.LeaseID, in registry.Instance) error
	// KeepAlive renews the lease and returns its TTL.
	KeepAlive(ctx context.Context, lease registry.LeaseID) (time.Duration, error)
	// Reinstate grants lease again under its own id, with ttl, and stores
	// ins under it, if the lease is gone (it expired while the store was
	// out of reach); it leaves a live lease alone and reports whether it
	// granted it.
	Reinstate(ctx context.Context, lease registry.LeaseID, ins []registry.Instance, ttl time.Duration) (bool, error)
	// LeaseInstances lists the instances stored under lease
	// (ErrLeaseNotFound if the lease is gone): an authenticated API reads
	// a lease's app from them when another server granted it.
	LeaseInstances(ctx context.Context, lease registry.LeaseID) ([]registry.Instance, error)
	// Revoke ends the lease, removing what was stored under it.
	Revoke(ctx context.Context, lease registry.LeaseID) error
	// Instances lists service's instances, sorted by address.
	Instances(ctx context.Context, service string) ([]registry.Instance, error)
	// Routes returns app's stored rules (nil when none).
	Routes(ctx context.Context, app string) ([]byte, error)
	// PutRoutes stores app's rules as given; DeleteRoutes removes them.
	PutRoutes(ctx context.Context, app string, value []byte) error
	DeleteRoutes(ctx context.Context, app string) error
	// Policy returns service's stored policy (nil when none).
	Policy(ctx context.Context, service string) ([]byte, error)
	// PutPolicy stores service's policy as given; DeletePolicy removes it.
	PutPolicy(ctx context.Context, service string, value []byte) error
	DeletePolicy(ctx context.Context, service string) error
}
