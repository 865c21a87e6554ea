// Package store is the control plane's one door to etcd: Open connects to
// an external etcd cluster, or starts an embedded one (the default: a
// single member whose data lives in a directory) and connects to it. The
// pilot, Meta, and later the scanner and the dispatcher each open one, and
// nothing else of OctoMesh imports an etcd client or server
// (internal/archtest holds this). In the pilot it is the Diplomat of
// DESIGN.md: its only contact with the systems outside it.
//
// What it keeps, and how (keys.go, health.go, members.go):
//
//   - the registry (api/registry's model): instances under leases, apps'
//     route rules and services' policies. Store implements
//     registration.Store for the registration API, and the watches the
//     pilot's Data Cache holds: for each service some sidecar uses, one
//     watch on its instances and one on its policy, and one per app whose
//     route rules some sidecar uses;
//   - central health checking's data (health.go): the scanners' health
//     marks beside the instances, without a lease (PutHealthMark only while
//     the instance is registered; a new registration deletes its mark in
//     the same transaction), their watches (one per service for the pilot,
//     all for a scanner), and the whole registry's changes for a scanner
//     (WatchInstances);
//   - the rule store's documents (rules.go; their meaning is cp/rules'):
//     read by prefix with their mod revisions (Range, Get), written with
//     their history and the compiled keys in one transaction guarded by
//     the revisions read (Commit);
//   - the shard map's records (their layout and meaning are cp/shardmap's):
//     prefix watches (WatchPrefix), compare-and-swap writes (PutIfAbsent,
//     Modify), and a key kept alive under a lease (Hold, Membership).
//
// store imports api/registry only of OctoMesh. It must never import
// proxy/..., sdk, or another cp/... package: they import it.
package store
