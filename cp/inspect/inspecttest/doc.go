// Package inspecttest starts what cp/inspect's and `octomesh ctl`'s views
// are tested against: a real pilot in-process (embedded etcd), fake
// delta-ADS sidecars whose every ACK and NACK the test decides, and a fake
// sidecar admin endpoint.
//
// It is for tests only. It may import cp/pilot (to start one) and the wire
// contracts; cp/inspect itself must never import it.
package inspecttest
