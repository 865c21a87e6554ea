// Package demo runs the whole mesh on this machine for a first look: a
// Kitex echo server behind sidecar B, sidecar A for a Kitex client, each
// sidecar its own `octomesh proxy` process, and callers whose throughput and
// latency are reported once a second. It is what `octomesh demo` runs.
package demo
