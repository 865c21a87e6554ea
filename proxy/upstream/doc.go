// Package upstream forwards requests to clusters of endpoints over a small,
// fixed number of multiplexed connections per endpoint.
//
// A Cluster holds an immutable state (endpoints and an lb.Picker) that
// Update swaps atomically. TryForward, called on the transport's poller,
// picks an endpoint, then the connection with the fewest requests in
// flight, takes a slot in that connection's slot table, rewrites the
// frame's TTHeader and payload seqIDs to one naming the slot and its
// generation, and writes the frame; it never waits, so an endpoint without
// a connection yet hands the request back for Forward, which waits for the
// dial on another goroutine. The response's seqID finds the slot again;
// the original seqIDs are restored and the frame goes to the request's
// Downstream. Each request is completed exactly once, through
// Downstream.Respond or Downstream.Fail, by whoever takes its slot: the
// response, Sweep (timeout), a failed write, or the connection closing.
//
// Bounds: MaxRequestsPerConn slots per connection (then ErrOverloaded),
// dial backoff per endpoint (then ErrUnreachable), a deadline per request
// enforced by Sweep, and the cluster's circuit breaker: requests in flight
// and requests waiting for a dial (then ErrCircuitOpen). AllowRetry holds
// retries to the cluster's retry budget and max_retries (budget.go). With
// outlier detection (outlier.go), Sweep also ejects, down-weights, probes
// and returns endpoints, and republishes the picker with their weights.
// A Sweeper (sweeper.go) calls Sweep only for the clusters that have
// something to time, when the earliest deadline comes, so an idle
// sidecar's clusters cost nothing and a busy one sweeps about once a second.
//
// Hot-path package: it must never import cp/..., proxy/router,
// proxy/filter, proxy/downstream, proxy/server, proxy/xds, proxy/admin or
// proxy/hotrestart (proxy/transport is the only proxy package below it).
package upstream
