// Package agent keeps one sidecar process alive on a node and upgrades it
// without losing a request (docs/operations.md, "Running sidecars under the
// agent").
//
// The Supervisor starts `octomesh proxy` (or another binary) as a child and
// watches it: its exit, its admin /healthz with a timeout. It restarts a
// crashed sidecar with capped exponential backoff and reports a crash loop
// in its status rather than hiding it. It writes what it runs to a state
// file in its data dir, so that an agent started again (after its own
// crash or upgrade) adopts the running sidecar instead of restarting it,
// and watches it by polling /proc since it is not its child.
//
// An upgrade (Supervisor.Upgrade, POST /upgrade on the agent's admin
// endpoint) fetches a binary from a path or an http(s) URL, verifies its
// SHA-256 (and an ed25519 signature when a public key is configured),
// stores it content-addressed in the data dir, and starts it with
// --hot-restart as the agent's child, so the sidecar's own hand-over
// (proxy/server, restart.go) moves the sockets. If the new process does
// not become ready, the old one never stopped serving; if it dies or its
// error rate rises over a threshold within the watch window, the agent
// hot-restarts the previous binary.
//
// Supervisor.Follow (`octomesh agent --control-plane ADDR --node ID`) is
// the other caller of Upgrade: it long-polls the control plane's release
// API (api/release) for this node's target, fetches the binary from the
// control plane (or uses one it ran before, for a rollback), upgrades, and
// reports each step and, periodically, its node: version and digest,
// readiness, request and error counters, restarts, config version, CPU
// and RSS.
//
// The agent talks to the sidecar as an operator would: a ready pipe at
// start (api/sidecar's ReadyInfo), its admin endpoint, signals. It must
// never import proxy/... (the sidecar's code runs in the child, not here),
// cp/... (the agent links no control-plane server; it speaks api/release),
// internal/proc (test tooling that ties a child's life to its parent) or
// sdk.
package agent
