// Package scannertest holds fake sidecars for tests and load runs of
// central health checking: TCP listeners on loopback that answer TTHeader
// health frames as a sidecar does, in a mode the caller sets (answer ok,
// answer fail, stay silent as a frozen process, or be dead). Many of them
// fit in one process.
//
// It imports codec only, and must never import cp/store or another cp/...
// package: only tests and the scanners' scale run (cp/scanner/scale) use
// it, and no server imports it.
package scannertest
