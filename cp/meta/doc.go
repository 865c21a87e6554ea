// Package meta is the sharded control plane's Meta Server: it tells a
// sidecar which pilot serves its app.
//
// Meta follows the shard map (cp/shardmap: the pilots' leased keys and the
// apps' records in etcd, and the assignment computed from them) and serves
// it over HTTP (Server): a sidecar asks GET /v1/owner?app= which pilot
// serves its app; a sidecar that lost its pilot asks with avoid=<that
// pilot> and wait=, and is answered as soon as the app has moved. Meta
// also serves the registration API (cp/registration) and the whole
// assignment (GET /v1/assignment). With Options.HTTPTLS its port is mutual
// TLS and the registration API is authenticated, as the pilot's.
//
// meta reaches etcd only through cp/store. It must never import
// proxy/... or cp/pilot: a pilot computes the same assignment from
// cp/shardmap, not from Meta.
package meta
