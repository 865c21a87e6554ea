package store

import (
	"context"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file holds what the dispatcher's notices need (cp/dispatcher): a
// read that says at which revisions it was made, so that a pilot fed by
// notices instead of watches can tell an old notice from a new one, and the
// mod revisions of every key under a prefix, for the back-check.

// RoutesPrefix is the etcd key prefix of every app's route rules
// (RoutesKey); PoliciesPrefix of every service's policy (PolicyKey).
const (
	RoutesPrefix   = routesDir
	PoliciesPrefix = policiesDir
)

// Value is one key read: its value (nil when the key does not exist), the
// revision that last modified it (0 when it does not exist) and the
// store's revision when it was read (everything up to it is reflected).
type Value struct {
	Data        []byte
	ModRevision int64
	Revision    int64
}

// Read reads key once (a linearizable read).
func (s *Store) Read(ctx context.Context, key string) (Value, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return Value{}, storeError("read "+key, err)
	}
	v := Value{Revision: resp.Header.Revision}
	if len(resp.Kvs) > 0 {
		v.Data, v.ModRevision = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
	}
	return v, nil
}

// ModRevisions returns the mod revision of every key under prefix, by the
// key's name under the prefix, and the store's revision of the read (keys
// only: values are not transferred).
func (s *Store) ModRevisions(ctx context.Context, prefix string) (map[string]int64, int64, error) {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, 0, storeError("list "+prefix, err)
	}
	out := make(map[string]int64, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), prefix)] = kv.ModRevision
	}
	return out, resp.Header.Revision, nil
}
