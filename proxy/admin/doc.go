// Package admin serves a sidecar's admin HTTP endpoint, on loopback unless
// configured otherwise: health and readiness, the Go profiler under
// /debug/pprof/, and whatever the server registers (counters, metrics,
// config and cluster dumps, the log level). It knows nothing of the request
// path: the server hands it handlers, and Metrics writes the Prometheus
// text format from plain values.
//
// Endpoints that change the sidecar are registered with HandleMutating:
// they accept only loopback callers, or, when a token is configured, only
// callers that present it; anything else gets 403.
//
// admin must never import another OctoMesh package.
package admin
