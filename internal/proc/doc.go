// Package proc starts OctoMesh processes (sidecars today) as children of
// the demo, the end-to-end tests and the benchmarks, and talks to them the
// way an operator would: a ready pipe at start (api/sidecar's ReadyInfo),
// the admin endpoint while running, SIGTERM to stop.
//
// Under `go test -race` the binaries it builds (Build, BuildPackage with
// Race()) are race-built too, so that the race detector sees the sidecars,
// not only the tests; $OCTOMESH_RACE=1 or 0 says so for any build, and
// BuildForSpeed never is (benchmarks, tests that need a pace). A race a
// sidecar reports fails its test binary (ExitCode in TestMain) and Stop.
// Counters are read by name (Counters.Get, Sidecar.Stat): a counter the
// sidecar lacks is an error, never a 0.
//
// proc imports api/sidecar only of OctoMesh: it must never import
// proxy/... or cp/..., whose code runs in the child, not here.
package proc
