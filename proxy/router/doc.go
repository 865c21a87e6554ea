// Package router maps a request's (to-service, method) to a route through an
// immutable Table. A Table is built and validated off the request path and
// published with one atomic store (Router.Store); the request path reads it
// with one atomic load and looks up with map reads that do not allocate.
//
// Match order: exact service and exact method, exact service and any method,
// any service and exact method, then the catch-all. A route may also ask for
// TTHeader string info keys (a tag, a lane): such routes are tried first, in
// that order, then the routes without.
//
// Hot-path package: it must never import cp/... or another proxy/...
// package (they are all above it, or beside it).
package router
