// Package meta is the sharded control plane's Meta Server: it says which
// pilot serves which app.
//
// Pilots hold a leased key each in etcd (PilotKey, renewed by heartbeat);
// apps have a record each (AppKey: the services the app's sidecars call,
// which the owning pilot preloads). From the set of live pilots and the set
// of apps, Assign computes the owner of every app by consistent hashing
// with bounded load: a pure function, so Meta instances, Meta restarts and
// every pilot compute the same assignment from the same etcd state. View
// keeps that state (two etcd watches) and the assignment current.
//
// Meta serves it over HTTP (Server): a sidecar asks GET /v1/owner?app=
// which pilot serves its app; a sidecar that lost its pilot asks with
// avoid=<that pilot> and wait=, and is answered as soon as the app has
// moved. Meta also serves the registry's registration API.
//
// meta reaches etcd only through cp/pilot/diplomat. It must never import
// proxy/... or cp/pilot (the pilot imports meta, to compute the same
// assignment and to join).
package meta
