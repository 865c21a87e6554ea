// Package inspecttest starts what cp/inspect's and `octomesh ctl`'s views
// are tested against: a real pilot in-process (embedded etcd), fake
// delta-ADS sidecars whose every ACK and NACK the test decides, and a fake
// sidecar admin endpoint.
//
// It is for tests only: it imports cp/pilot (to start one) and the wire
// contracts, and no server or view links it. It must never import
// cp/inspect or cmd/...: the views are what it tests.
package inspecttest
