package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/octomesh/octomesh/api/registry"
)

// Stats counts what the store saw.
type Stats struct {
	// Watches is the number of etcd watches open now.
	Watches atomic.Int64
	// Events counts changes received from etcd watches.
	Events atomic.Uint64
	// BadValues counts stored values that did not decode and were skipped.
	BadValues atomic.Uint64
	// Resyncs counts watches restarted after an error or a compaction.
	Resyncs atomic.Uint64
}

// Store is the control plane's etcd: a client of an external cluster, or
// of the embedded etcd it started.
type Store struct {
	cli   *clientv3.Client
	log   *slog.Logger
	etcd  *embedded // nil with an external cluster
	Stats Stats
}

// Options say which etcd to use.
type Options struct {
	// Endpoints are an external etcd cluster's (host:port, http://host:port
	// or unix:///path); empty starts an embedded etcd in DataDir.
	Endpoints []string
	// DataDir is the embedded etcd's data directory; it is created if
	// missing, and registrations and leases in it survive a restart.
	DataDir string
	// ClientAddress is where the embedded etcd serves clients: host:port;
	// default 127.0.0.1:0 (port 0 picks a free one).
	ClientAddress string
	// TLS, when set, is the client TLS to the external etcd (Endpoints):
	// its CA, and the client's certificate if etcd asks for one (TLSFiles
	// builds it from files). The embedded etcd serves plain, on loopback
	// by default: TLS with it is an error.
	TLS *tls.Config
	Log *slog.Logger
}

// Open connects to the external etcd that opts names, or starts the
// embedded one and connects to it. The connection is lazy: an unreachable
// etcd shows up as errors on calls and retries in watches, not here.
func Open(opts Options) (*Store, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: log}
	endpoints := opts.Endpoints
	if len(endpoints) == 0 {
		if opts.TLS != nil {
			return nil, errors.New("store: etcd TLS is for an external etcd (endpoints); the embedded one serves plain")
		}
		if opts.DataDir == "" {
			return nil, errors.New("store: give etcd endpoints or a data directory for an embedded etcd")
		}
		e, err := startEmbedded(opts.DataDir, opts.ClientAddress)
		if err != nil {
			return nil, err
		}
		s.etcd = e
		endpoints = []string{e.endpoint}
		log.Info("embedded etcd ready", "dir", opts.DataDir, "endpoint", e.endpoint)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		TLS:                  opts.TLS,
		// Redial an etcd that went away every 2s at most (gRPC's default
		// backs off to 2 minutes): the pilot sees it back, and gives back
		// the leases it lost, within seconds of its return.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		})},
		Logger: zap.NewNop(),
	})
	if err != nil {
		s.closeEmbedded()
		return nil, fmt.Errorf("store: etcd %v: %w", endpoints, err)
	}
	s.cli = cli
	return s, nil
}

// Close closes the etcd client (watches end) and stops the embedded etcd,
// whose data stays in its directory.
func (s *Store) Close() error {
	err := s.cli.Close()
	s.closeEmbedded()
	return err
}

func (s *Store) closeEmbedded() {
	if s.etcd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.etcd.close(ctx)
		cancel()
	}
}

// storeError maps etcd errors to the registry's kinds (api/registry).
func storeError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		return fmt.Errorf("%w: %s", registry.ErrLeaseNotFound, op)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%w: %s: %v", registry.ErrUnavailable, op, err)
}

// Register implements registration.Store.
func (s *Store) Register(ctx context.Context, in registry.Instance, ttl time.Duration) (registry.LeaseID, error) {
	val, err := registry.EncodeInstance(in)
	if err != nil {
		return 0, err
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	g, err := s.cli.Grant(ctx, secs)
	if err != nil {
		return 0, storeError("grant lease", err)
	}
	// A new registration is a new start of the app: a health mark left
	// from its last life goes with it (cp/scanner checks it afresh).
	if _, err := s.cli.Txn(ctx).Then(
		clientv3.OpPut(InstanceKey(in.Service, in.Address), string(val), clientv3.WithLease(g.ID)),
		clientv3.OpDelete(HealthKey(in.Service, in.Address)),
	).Commit(); err != nil {
		_, _ = s.cli.Revoke(context.WithoutCancel(ctx), g.ID)
		return 0, storeError("put instance", err)
	}
	return registry.LeaseID(g.ID), nil
}

// Update implements registration.Store.
func (s *Store) Update(ctx context.Context, lease registry.LeaseID, in registry.Instance) error {
	val, err := registry.EncodeInstance(in)
	if err != nil {
		return err
	}
	_, err = s.cli.Put(ctx, InstanceKey(in.Service, in.Address), string(val), clientv3.WithLease(clientv3.LeaseID(lease)))
	return storeError("put instance", err)
}

// KeepAlive implements registration.Store.
func (s *Store) KeepAlive(ctx context.Context, lease registry.LeaseID) (time.Duration, error) {
	r, err := s.cli.KeepAliveOnce(ctx, clientv3.LeaseID(lease))
	if err != nil {
		return 0, storeError("keep lease alive", err)
	}
	return time.Duration(r.TTL) * time.Second, nil
}

// Reinstate implements registration.Store: if lease is gone from etcd
// (it expired while etcd was out of reach, or etcd came back without it),
// it is granted again under the same id with ttl and ins are stored under
// it, so that the app's keepalives of that lease carry on; a lease that is
// still there is left alone. It reports whether it granted the lease.
func (s *Store) Reinstate(ctx context.Context, lease registry.LeaseID, ins []registry.Instance, ttl time.Duration) (bool, error) {
	ttlResp, err := s.cli.TimeToLive(ctx, clientv3.LeaseID(lease))
	if err != nil {
		return false, storeError("lease time to live", err)
	}
	if ttlResp.TTL > 0 {
		return false, nil
	}
	vals := make([][]byte, len(ins))
	for i, in := range ins {
		if vals[i], err = registry.EncodeInstance(in); err != nil {
			return false, err
		}
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	granted := true
	if _, err := clientv3.RetryLeaseClient(s.cli).LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: int64(lease), TTL: secs}); err != nil {
		if !errors.Is(err, rpctypes.ErrLeaseExist) {
			return false, storeError("grant lease again", err)
		}
		granted = false // someone (a keepalive's own reinstatement) was first
	}
	for i, in := range ins {
		if _, err := s.cli.Put(ctx, InstanceKey(in.Service, in.Address), string(vals[i]), clientv3.WithLease(clientv3.LeaseID(lease))); err != nil {
			return granted, storeError("put instance", err)
		}
	}
	return granted, nil
}

// Probe reads from etcd (a linearizable read, which needs a live leader):
// nil if etcd serves.
func (s *Store) Probe(ctx context.Context) error {
	_, err := s.cli.Get(ctx, probeKey, clientv3.WithCountOnly())
	return storeError("probe", err)
}

// Revoke implements registration.Store.
func (s *Store) Revoke(ctx context.Context, lease registry.LeaseID) error {
	_, err := s.cli.Revoke(ctx, clientv3.LeaseID(lease))
	return storeError("revoke lease", err)
}

// LeaseInstances implements registration.Store: the instances whose keys
// are attached to lease.
func (s *Store) LeaseInstances(ctx context.Context, lease registry.LeaseID) ([]registry.Instance, error) {
	ttl, err := s.cli.TimeToLive(ctx, clientv3.LeaseID(lease), clientv3.WithAttachedKeys())
	if err != nil {
		return nil, storeError("lease time to live", err)
	}
	if ttl.TTL <= 0 {
		return nil, fmt.Errorf("%w: %d", registry.ErrLeaseNotFound, lease)
	}
	state := map[string]registry.Instance{}
	for _, k := range ttl.Keys {
		if !strings.HasPrefix(string(k), instancesDir) {
			continue
		}
		resp, err := s.cli.Get(ctx, string(k))
		if err != nil {
			return nil, storeError("read instance", err)
		}
		for _, kv := range resp.Kvs {
			s.decodeInto(state, kv.Key, kv.Value)
		}
	}
	return sorted(state), nil
}

// Instances implements registration.Store.
func (s *Store) Instances(ctx context.Context, service string) ([]registry.Instance, error) {
	resp, err := s.cli.Get(ctx, ServicePrefix(service), clientv3.WithPrefix())
	if err != nil {
		return nil, storeError("list instances", err)
	}
	state := map[string]registry.Instance{}
	for _, kv := range resp.Kvs {
		s.decodeInto(state, kv.Key, kv.Value)
	}
	return sorted(state), nil
}

// Routes implements registration.Store.
func (s *Store) Routes(ctx context.Context, app string) ([]byte, error) {
	return s.get(ctx, RoutesKey(app), "get routes")
}

// get returns key's value, nil when there is none.
func (s *Store) get(ctx context.Context, key, op string) ([]byte, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, storeError(op, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0].Value, nil
}

// PutRoutes implements registration.Store.
func (s *Store) PutRoutes(ctx context.Context, app string, value []byte) error {
	_, err := s.cli.Put(ctx, RoutesKey(app), string(value))
	return storeError("put routes", err)
}

// DeleteRoutes implements registration.Store.
func (s *Store) DeleteRoutes(ctx context.Context, app string) error {
	_, err := s.cli.Delete(ctx, RoutesKey(app))
	return storeError("delete routes", err)
}

// Policy implements registration.Store.
func (s *Store) Policy(ctx context.Context, service string) ([]byte, error) {
	return s.get(ctx, PolicyKey(service), "get policy")
}

// PutPolicy implements registration.Store.
func (s *Store) PutPolicy(ctx context.Context, service string, value []byte) error {
	_, err := s.cli.Put(ctx, PolicyKey(service), string(value))
	return storeError("put policy", err)
}

// DeletePolicy implements registration.Store.
func (s *Store) DeletePolicy(ctx context.Context, service string) error {
	_, err := s.cli.Delete(ctx, PolicyKey(service))
	return storeError("delete policy", err)
}

func (s *Store) decodeInto(state map[string]registry.Instance, key, value []byte) {
	in, err := registry.DecodeInstance(value)
	if err != nil {
		s.Stats.BadValues.Add(1)
		s.log.Warn("store: skipping a bad instance in the registry", "key", string(key), "err", err)
		delete(state, string(key))
		return
	}
	state[string(key)] = in
}

func sorted(state map[string]registry.Instance) []registry.Instance {
	list := make([]registry.Instance, 0, len(state))
	for _, in := range state {
		list = append(list, in)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Address < list[j].Address })
	return list
}

// WatchService calls update with service's instances (sorted by address)
// now and after every change; it returns when ctx ends, so run it in a
// goroutine of its own. Calls are serialised and
// each gets a list of its own. Errors (etcd away, history compacted) are
// retried with backoff, and the next call after one carries the whole
// current state again.
func (s *Store) WatchService(ctx context.Context, service string, update func([]registry.Instance)) {
	prefix := ServicePrefix(service)
	state := map[string]registry.Instance{}
	s.watch(ctx, prefix, true, func(kvs []*kvEvent, reset bool, _ int64) {
		if reset {
			clear(state)
		}
		for _, ev := range kvs {
			if ev.deleted {
				delete(state, ev.key)
				continue
			}
			s.decodeInto(state, []byte(ev.key), ev.value)
		}
		update(sorted(state))
	})
}

// WatchRoutes calls update with app's stored route rules (nil when there
// are none) now and after every change, until ctx ends (like WatchService,
// it blocks). A value that does not decode is logged and skipped: the last
// good rules stay (none, if it is the first value).
func (s *Store) WatchRoutes(ctx context.Context, app string, update func(*registry.AppRoutes)) {
	delivered := false
	s.watchValue(ctx, RoutesKey(app), func(b []byte) {
		var routes registry.AppRoutes
		var err error
		if b != nil {
			routes, err = registry.DecodeRoutes(b)
		}
		switch {
		case err != nil:
			s.Stats.BadValues.Add(1)
			s.log.Warn("store: skipping bad route rules in the registry", "app", app, "err", err)
			if !delivered {
				update(nil)
			}
		case b == nil:
			update(nil)
		default:
			update(&routes)
		}
		delivered = true
	})
}

// WatchPolicy calls update with service's stored policy (nil when there is
// none) now and after every change, until ctx ends (it blocks). A value
// that does not decode is logged and skipped: the last good policy stays
// (none, if it is the first value: the service must not wait for it).
func (s *Store) WatchPolicy(ctx context.Context, service string, update func(*registry.ServicePolicy)) {
	delivered := false
	s.watchValue(ctx, PolicyKey(service), func(b []byte) {
		var p registry.ServicePolicy
		var err error
		if b != nil {
			p, err = registry.DecodePolicy(service, b)
		}
		switch {
		case err != nil:
			s.Stats.BadValues.Add(1)
			s.log.Warn("store: skipping a bad policy in the registry", "service", service, "err", err)
			if !delivered {
				update(nil)
			}
		case b == nil:
			update(nil)
		default:
			update(&p)
		}
		delivered = true
	})
}

// watchValue calls update with key's value (nil when there is none) now
// and after every change, until ctx ends.
func (s *Store) watchValue(ctx context.Context, key string, update func([]byte)) {
	s.watch(ctx, key, false, func(kvs []*kvEvent, reset bool, _ int64) {
		var cur []byte
		found := false
		for _, ev := range kvs {
			if ev.key != key {
				continue
			}
			found = true
			if !ev.deleted {
				cur = ev.value
			} else {
				cur = nil
			}
		}
		if !found && !reset {
			return
		}
		update(cur)
	})
}

type kvEvent struct {
	key     string
	value   []byte
	deleted bool
}

// watch runs a get-then-watch loop on key (a prefix if prefix is set) and
// hands each batch to apply: reset is true for a full reload; rev is the
// store's revision the batch brings the caller to.
func (s *Store) watch(ctx context.Context, key string, prefix bool, apply func(batch []*kvEvent, reset bool, rev int64)) {
	s.Stats.Watches.Add(1)
	defer s.Stats.Watches.Add(-1)
	opts := []clientv3.OpOption{}
	if prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		resp, err := s.cli.Get(ctx, key, opts...)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("store: registry read failed; retrying", "key", key, "err", err, "in", backoff)
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		batch := make([]*kvEvent, 0, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			batch = append(batch, &kvEvent{key: string(kv.Key), value: kv.Value})
		}
		apply(batch, true, resp.Header.Revision)
		backoff = 50 * time.Millisecond
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := s.cli.Watch(wctx, key, append(opts, clientv3.WithRev(resp.Header.Revision+1))...)
		for wr := range wch {
			if err := wr.Err(); err != nil {
				if ctx.Err() == nil {
					s.log.Info("store: watch ended; reading again", "key", key, "err", err)
				}
				break
			}
			batch = batch[:0]
			for _, ev := range wr.Events {
				s.Stats.Events.Add(1)
				batch = append(batch, &kvEvent{key: string(ev.Kv.Key), value: ev.Kv.Value, deleted: ev.Type == clientv3.EventTypeDelete})
			}
			if len(batch) > 0 {
				apply(batch, false, wr.Header.Revision)
			}
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.Stats.Resyncs.Add(1)
		if !sleep(ctx, backoff) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Endpoints lists the etcd endpoints, for logs.
func (s *Store) Endpoints() string { return strings.Join(s.cli.Endpoints(), ",") }
