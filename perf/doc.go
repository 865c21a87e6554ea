// Package perf holds tools for measuring a running sidecar from outside.
// Profile captures CPU, heap and allocation profiles through the sidecar's
// admin endpoint (/debug/pprof/) and writes them with a text summary of
// the top functions, read with github.com/google/pprof/profile.
//
// perf talks to a sidecar only over HTTP: it must never import another
// OctoMesh package.
package perf
