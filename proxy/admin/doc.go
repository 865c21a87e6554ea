// Package admin serves a sidecar's admin HTTP endpoint, on loopback unless
// configured otherwise: health and readiness, counters, and whatever the
// server registers. It knows nothing of the request path; the server hands
// it handlers.
//
// admin must never import cp/... packages.
package admin
