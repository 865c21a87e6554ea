// Package cli holds what the OctoMesh binaries' commands share: the logger
// their --log-level makes, the --ready-fd report, usage errors and exit
// statuses.
//
// It must never import another OctoMesh package: every command imports it.
package cli
