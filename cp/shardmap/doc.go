// Package shardmap is the sharded control plane's shard map: which pilot
// owns which app.
//
// Pilots hold a leased key each in etcd (PilotKey, renewed by heartbeat);
// apps have a record each (AppKey: the services the app's sidecars call,
// which the owning pilot preloads). From the set of live pilots and the set
// of apps, Assign computes the owner of every app by consistent hashing
// with bounded load: a pure function, so Meta instances, Meta restarts and
// every pilot compute the same assignment from the same etcd state. View
// keeps that state (two watches on a Store) and the assignment current;
// Meta (cp/meta) answers sidecars from one, and every shard pilot
// (cp/pilot) follows one.
//
// Scanners (cp/scanner) hold a leased key each too (ScannerKey); the
// instances of a zone are split among its scanners by a Ring: plain
// consistent hashing, so that a key's owner and its successors follow from
// the members alone.
//
// shardmap imports config, api/meta and api/scanner; it must never import cp/meta or
// cp/pilot (both import it), cp/store or an etcd client (a View reads
// through its Store interface), proxy/... or sdk.
package shardmap
