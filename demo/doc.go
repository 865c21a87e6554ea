// Package demo runs the whole mesh on this machine for a first look: a
// pilot with its registry in an embedded etcd; two Kitex echo servers, each
// behind its own sidecar and registered in the registry (one through the
// sdk's registration option); sidecar A for a Kitex client, in xDS mode, so
// that its route and endpoints for "echo" come from the pilot on the first
// call. Each sidecar is its own `octomesh proxy` process. Callers' throughput
// and latency are reported once a second; the endpoints sidecar A holds are
// printed when they change, and a while in, the second server's lease is
// left to lapse, so its endpoint leaves within the lease's TTL. It is what
// `octomesh demo` runs.
//
// The pilot runs in this process; the sidecars do not: demo must never
// import proxy/... (a sidecar is a process, started with internal/proc).
package demo
