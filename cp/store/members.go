package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file holds what the sharded control plane keeps in etcd beside the
// registry: pilots' leased membership keys and the apps' records. The store
// keeps bytes under keys; cp/shardmap owns their layout and meaning.

// WatchPrefix calls update with every key under prefix and its value, and
// the store revision that state is at: now and after every change, until
// ctx ends (it blocks, like WatchService). Calls are serialised; each map
// is the caller's own.
func (s *Store) WatchPrefix(ctx context.Context, prefix string, update func(state map[string][]byte, rev int64)) {
	state := map[string][]byte{}
	s.watch(ctx, prefix, true, func(kvs []*kvEvent, reset bool, rev int64) {
		if reset {
			clear(state)
		}
		for _, ev := range kvs {
			if ev.deleted {
				delete(state, ev.key)
			} else {
				state[ev.key] = ev.value
			}
		}
		update(maps.Clone(state), rev)
	})
}

// PutIfAbsent stores value under key unless the key exists. It returns the
// store revision after the call, and whether it created the key.
func (s *Store) PutIfAbsent(ctx context.Context, key string, value []byte) (int64, bool, error) {
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value))).
		Commit()
	if err != nil {
		return 0, false, storeError("put if absent", err)
	}
	return resp.Header.Revision, resp.Succeeded, nil
}

// Modify replaces key's value with change(old) (old is nil when the key is
// absent), atomically: if another writer got there first, change is called
// again with the newer value. change returning false leaves the key as it
// is. It returns the store revision after the call.
func (s *Store) Modify(ctx context.Context, key string, change func(old []byte) ([]byte, bool)) (int64, error) {
	for {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return 0, storeError("read for update", err)
		}
		var old []byte
		var modRev int64
		if len(resp.Kvs) > 0 {
			old, modRev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		}
		next, ok := change(old)
		if !ok {
			return resp.Header.Revision, nil
		}
		tx, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", modRev)).
			Then(clientv3.OpPut(key, string(next))).
			Commit()
		if err != nil {
			return 0, storeError("update", err)
		}
		if tx.Succeeded {
			return tx.Header.Revision, nil
		}
	}
}

// Membership keeps one key in etcd under a lease for as long as its holder
// lives: the lease is renewed every third of its TTL, and if it is lost
// (etcd restarted, or the holder was paused longer than the TTL) the key is
// written again under a new lease. Release revokes it, so the key goes at
// once; a holder that dies without releasing loses it when the TTL runs out.
type Membership struct {
	store *Store
	key   string
	ttl   time.Duration
	stop  context.CancelFunc
	done  chan struct{}
	mu    sync.Mutex
	value []byte
	lease clientv3.LeaseID
}

// Hold writes key = value under a lease of ttl (at least 2s; etcd rounds
// to seconds) and keeps it there until Release. The first write happens
// before Hold returns.
func (s *Store) Hold(ctx context.Context, key string, value []byte, ttl time.Duration) (*Membership, error) {
	if ttl < 2*time.Second {
		return nil, fmt.Errorf("store: lease ttl %s is less than 2s", ttl)
	}
	m := &Membership{store: s, key: key, ttl: ttl, value: value, done: make(chan struct{})}
	lease, err := m.put(ctx)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	m.stop = stop
	go m.run(runCtx, lease)
	return m, nil
}

// put grants a lease and writes the key under it.
func (m *Membership) put(ctx context.Context) (clientv3.LeaseID, error) {
	secs := int64((m.ttl + time.Second - 1) / time.Second)
	g, err := m.store.cli.Grant(ctx, secs)
	if err != nil {
		return 0, storeError("grant lease", err)
	}
	m.mu.Lock()
	value := m.value
	m.lease = g.ID
	m.mu.Unlock()
	if _, err := m.store.cli.Put(ctx, m.key, string(value), clientv3.WithLease(g.ID)); err != nil {
		_, _ = m.store.cli.Revoke(context.WithoutCancel(ctx), g.ID)
		return 0, storeError("put "+m.key, err)
	}
	return g.ID, nil
}

func (m *Membership) run(ctx context.Context, lease clientv3.LeaseID) {
	defer close(m.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if lease != 0 {
			ch, err := m.store.cli.KeepAlive(ctx, lease)
			if err == nil {
				for range ch { // renewed; the channel closes when the lease is lost
				}
			}
			if ctx.Err() != nil {
				return
			}
			m.store.log.Warn("store: lost the lease of a membership key; writing it again", "key", m.key)
		}
		var err error
		if lease, err = m.put(ctx); err != nil {
			if ctx.Err() == nil {
				m.store.log.Warn("store: cannot write a membership key; retrying", "key", m.key, "err", err, "in", backoff)
			}
			lease = 0
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}

// Update writes a new value under the current lease (and keeps it for
// a rewrite after a lost lease).
func (m *Membership) Update(ctx context.Context, value []byte) error {
	m.mu.Lock()
	m.value = value
	lease := m.lease
	m.mu.Unlock()
	_, err := m.store.cli.Put(ctx, m.key, string(value), clientv3.WithLease(lease))
	return storeError("put "+m.key, err)
}

// Release stops renewing and revokes the lease: the key goes at once.
func (m *Membership) Release(ctx context.Context) error {
	m.stop()
	<-m.done
	m.mu.Lock()
	lease := m.lease
	m.mu.Unlock()
	_, err := m.store.cli.Revoke(ctx, lease)
	return storeError("revoke "+m.key, err)
}

// Abandon stops renewing without revoking: the key stays until its lease
// runs out, as if the holder had died.
func (m *Membership) Abandon() {
	m.stop()
	<-m.done
}

// Evict ends a membership whose holder is gone without releasing it: if
// key exists and mark(its value) says so, it writes the marked value under
// the key's own lease (only if the key has not changed since it was read)
// and then revokes that lease, so the key goes at once, as if the holder
// had released it. The mark lets watchers tell the end from a lapse (a
// pilot's record says draining: its apps move without the removal grace).
// Revoking, not deleting, is what lets a holder that was alive after all
// come back: its renewals fail and its Membership writes the key again
// under a new lease. It reports whether it evicted; false, nil when the
// key is absent, changed meanwhile, or mark declined.
func (s *Store) Evict(ctx context.Context, key string, mark func(old []byte) ([]byte, bool)) (bool, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return false, storeError("read "+key, err)
	}
	if len(resp.Kvs) == 0 {
		return false, nil
	}
	kv := resp.Kvs[0]
	next, ok := mark(kv.Value)
	if !ok {
		return false, nil
	}
	lease := clientv3.LeaseID(kv.Lease)
	put := clientv3.OpPut(key, string(next))
	if lease != 0 {
		put = clientv3.OpPut(key, string(next), clientv3.WithLease(lease))
	}
	tx, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).Then(put).Commit()
	if err != nil {
		return false, storeError("mark "+key, err)
	}
	if !tx.Succeeded {
		return false, nil
	}
	if lease == 0 {
		_, err = s.cli.Delete(ctx, key)
		return err == nil, storeError("delete "+key, err)
	}
	if _, err = s.cli.Revoke(ctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return false, storeError("revoke "+key, err)
	}
	return true, nil // a lease not found had run out meanwhile: the key is gone too
}
