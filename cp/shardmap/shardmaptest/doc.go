// Package shardmaptest holds a shardmap.Store in memory, for the tests of
// the shard map and of what reads it through a View (Meta's server). Only
// tests import it.
//
// It imports api/meta only, and must never import cp/store (a test with it
// runs without etcd).
package shardmaptest
