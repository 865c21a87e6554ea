// Package lb chooses the upstream endpoint for each request a sidecar
// forwards.
//
// A Balancer turns an endpoint set into an immutable Picker; when the set, a
// weight or a health state changes, the caller builds a new Picker off the hot
// path and swaps it in with one atomic store. Balancers are found by name in
// a strict registry (Register, Get, Names): round_robin (smooth weighted),
// p2c_peak_ewma (power of two choices on latency and in-flight load),
// ring_hash and maglev (consistent hashing with fixed seeds, so every sidecar
// sends a key to the same address). Locality wraps any of them to prefer the
// local SET, then the local zone, with a panic threshold.
//
// Rules every balancer follows: weight 0 excludes an endpoint; unhealthy
// endpoints are excluded unless none is healthy, in which case all endpoints
// with weight > 0 are used (panic mode); Build fails with ErrNoEndpoints when
// nothing can be picked and with ErrInvalidInput for input it cannot use.
//
// Picker contract: Pick is safe for concurrent use, takes no lock and
// allocates nothing. It returns an index into the slice given to Build, and
// the caller must keep that slice unchanged for as long as it uses the
// Picker. A nil or empty key means the request has none.
//
// Load contract: the upstream keeps one Load per address across rebuilds and
// passes the same pointer in every Endpoint. It calls Begin when it sends a
// request to the picked endpoint and End exactly once when that request
// completes or fails. Pick itself never calls Begin: picking and sending are
// separate so that a pick that is not sent (e.g. the connection pool is full)
// leaves no phantom load.
//
// lb is a leaf: it must never import another OctoMesh package (a test
// enforces it), so that the data plane, the control plane and tools can all
// use it.
package lb
