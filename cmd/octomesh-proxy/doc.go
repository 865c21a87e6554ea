// Command octomesh-proxy is the sidecar alone: `octomesh proxy` without the
// control plane, bench, perf and demo linked in, for the machines that only
// run sidecars (deps_test.go holds what it must never link).
//
// Usage: octomesh-proxy [proxy] --config FILE [--log-level L] [--hot-restart] [--ready-fd N]
//
//	octomesh-proxy version
//
// It takes the same arguments as `octomesh proxy`, with or without the word
// proxy, so that the agent can run it (octomesh agent --sidecar-binary).
//
// No package may import it, and it must never import cp/..., agent, bench,
// perf, demo or examples/... (deps_test.go also names the modules it must
// not link: etcd, NATS, plotting, browsers).
package main
