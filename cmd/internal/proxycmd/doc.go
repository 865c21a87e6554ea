// Package proxycmd is the sidecar's command, `octomesh proxy` and the
// sidecar-only binary `octomesh-proxy`: flags, config file, signals.
//
// It must never import cp/..., agent, bench, perf or demo: the sidecar-only
// binary links it (cmd/octomesh-proxy's deps test holds that too).
package proxycmd
