package shardmaptest

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/octomesh/octomesh/api/meta"
)

// Store serves prefixes from memory: Set replaces one's state and calls
// every watch of it.
type Store struct {
	mu      sync.Mutex
	state   map[string]map[string][]byte
	updates map[string][]func(map[string][]byte, int64)
}

// New returns an empty Store.
func New() *Store {
	return &Store{state: map[string]map[string][]byte{}, updates: map[string][]func(map[string][]byte, int64){}}
}

// WatchPrefix implements shardmap.Store: it calls update with prefix's
// state now and on every Set of it, until ctx ends.
func (f *Store) WatchPrefix(ctx context.Context, prefix string, update func(map[string][]byte, int64)) {
	f.mu.Lock()
	f.updates[prefix] = append(f.updates[prefix], update)
	cur := f.state[prefix]
	f.mu.Unlock()
	update(cur, 1)
	<-ctx.Done()
}

// Set replaces the state under prefix.
func (f *Store) Set(prefix string, kv map[string][]byte) {
	f.mu.Lock()
	f.state[prefix] = kv
	list := f.updates[prefix]
	f.mu.Unlock()
	for _, u := range list {
		u(kv, 2)
	}
}

// PilotRecord is the record of a pilot id serving xDS at xds.
func PilotRecord(id, xds string) []byte {
	b, _ := json.Marshal(meta.PilotInfo{ID: id, XDS: xds})
	return b
}
