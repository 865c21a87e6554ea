// Command octomesh is the OctoMesh binary: one subcommand per role. This
// package only parses flags and calls into the packages that do the work.
//
// No package may import it, and it must never import e2e, internal/archtest
// or cp/shardmap/shardmaptest (test code).
package main
