package store

import (
	"context"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/octomesh/octomesh/api/registry"
)

// This file holds central health checking's data: the scanners' marks
// beside the instances (HealthKey, no lease: they survive a scanner's
// restart), and the whole-registry watch a scanner shards.

// PutHealthMark writes m at HealthKey(m.Service, m.Address) if the
// instance is registered; it reports whether it wrote (an instance that
// left meanwhile gets no mark).
func (s *Store) PutHealthMark(ctx context.Context, m registry.HealthMark) (bool, error) {
	val, err := registry.EncodeHealthMark(m)
	if err != nil {
		return false, err
	}
	inst := InstanceKey(m.Service, m.Address)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(inst), ">", 0)).
		Then(clientv3.OpPut(HealthKey(m.Service, m.Address), string(val))).
		Commit()
	if err != nil {
		return false, storeError("put health mark", err)
	}
	return resp.Succeeded, nil
}

// ClearHealthMark deletes the health mark of (service, address), if any.
func (s *Store) ClearHealthMark(ctx context.Context, service, address string) error {
	_, err := s.cli.Delete(ctx, HealthKey(service, address))
	return storeError("delete health mark", err)
}

// ClearOrphanMark deletes the health mark of (service, address) only if
// the instance is not registered: a scanner whose view of the registry
// lags must not delete the mark of an instance that is.
func (s *Store) ClearOrphanMark(ctx context.Context, service, address string) (bool, error) {
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(InstanceKey(service, address)), "=", 0)).
		Then(clientv3.OpDelete(HealthKey(service, address))).
		Commit()
	if err != nil {
		return false, storeError("delete health mark", err)
	}
	return resp.Succeeded, nil
}

// WatchHealth calls update with service's health marks by address now and
// after every change, until ctx ends (it blocks, like WatchService). Marks
// that do not decode are logged and skipped. Each map is the caller's own.
func (s *Store) WatchHealth(ctx context.Context, service string, update func(map[string]registry.HealthMark)) {
	prefix := HealthPrefix(service)
	state := map[string]registry.HealthMark{}
	s.watch(ctx, prefix, true, func(kvs []*kvEvent, reset bool, _ int64) {
		if reset {
			clear(state)
		}
		for _, ev := range kvs {
			addr := strings.TrimPrefix(ev.key, prefix)
			if ev.deleted {
				delete(state, addr)
				continue
			}
			m, err := registry.DecodeHealthMark(ev.value)
			if err != nil || m.Address != addr {
				s.Stats.BadValues.Add(1)
				s.log.Warn("store: skipping a bad health mark", "key", ev.key, "err", err)
				delete(state, addr)
				continue
			}
			state[addr] = m
		}
		out := make(map[string]registry.HealthMark, len(state))
		for k, v := range state {
			out[k] = v
		}
		update(out)
	})
}

// InstanceChange is one change of the registry: Instance is nil when the
// instance at Key left.
type InstanceChange struct {
	Key      string
	Instance *registry.Instance
}

// WatchInstances calls update with the changes of every service's
// instances: first the whole registry (reset true), then each batch of
// changes, and the whole registry again (reset) after a watch error; until
// ctx ends (it blocks). Calls are serialised. It is for a scanner, which
// follows all of them; a pilot watches one service at a time.
func (s *Store) WatchInstances(ctx context.Context, update func(changes []InstanceChange, reset bool)) {
	s.watch(ctx, InstancesPrefix, true, func(kvs []*kvEvent, reset bool, _ int64) {
		out := make([]InstanceChange, 0, len(kvs))
		for _, ev := range kvs {
			if ev.deleted {
				out = append(out, InstanceChange{Key: ev.key})
				continue
			}
			in, err := registry.DecodeInstance(ev.value)
			if err != nil {
				s.Stats.BadValues.Add(1)
				out = append(out, InstanceChange{Key: ev.key})
				continue
			}
			out = append(out, InstanceChange{Key: ev.key, Instance: &in})
		}
		update(out, reset)
	})
}

// WatchHealthMarks is WatchHealth over every service: update gets every
// mark, by HealthKey, now and after every change.
func (s *Store) WatchHealthMarks(ctx context.Context, update func(map[string]registry.HealthMark)) {
	state := map[string]registry.HealthMark{}
	s.watch(ctx, AllHealthPrefix, true, func(kvs []*kvEvent, reset bool, _ int64) {
		if reset {
			clear(state)
		}
		for _, ev := range kvs {
			if ev.deleted {
				delete(state, ev.key)
				continue
			}
			m, err := registry.DecodeHealthMark(ev.value)
			if err != nil || ev.key != HealthKey(m.Service, m.Address) {
				s.Stats.BadValues.Add(1)
				delete(state, ev.key)
				continue
			}
			state[ev.key] = m
		}
		out := make(map[string]registry.HealthMark, len(state))
		for k, v := range state {
			out[k] = v
		}
		update(out)
	})
}
