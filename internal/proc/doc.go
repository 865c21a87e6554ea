// Package proc starts OctoMesh processes (sidecars today) as children of
// the demo, the end-to-end tests and the benchmarks, and talks to them the
// way an operator would: a ready pipe at start, the admin endpoint while
// running, SIGTERM to stop.
package proc
