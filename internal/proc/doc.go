// Package proc starts OctoMesh processes (sidecars today) as children of
// the demo, the end-to-end tests and the benchmarks, and talks to them the
// way an operator would: a ready pipe at start (api/sidecar's ReadyInfo),
// the admin endpoint while running, SIGTERM to stop.
//
// proc imports api/sidecar only of OctoMesh: it must never import
// proxy/... or cp/..., whose code runs in the child, not here.
package proc
