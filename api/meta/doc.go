// Package meta is the wire contract of finding a pilot, which sidecars,
// mock sidecars, pilots and Meta speak: what Meta (cp/meta) answers over
// HTTP (GET /v1/owner?app=A[&avoid=P&wait=D] -> OwnerResponse, GET
// /v1/assignment -> AssignmentInfo, errors as {"error": "..."}) and its one
// client (Client); the gRPC metadata key in which a sidecar names its app
// (AppHeader); and how a pilot sends a sidecar to the pilot that serves its
// app (Redirect, read back by RedirectOf).
//
// meta is a leaf: it imports config (and gRPC's status types, for the
// redirect) and must never import proxy/..., sdk or cp/....
package meta
