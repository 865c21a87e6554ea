// Package release is the control plane's release service: a store of
// sidecar binaries (content-addressed on disk), staged releases of them
// across the fleet, and the last report of every node's agent.
//
// An operator uploads a binary (its digest is checked on upload) and
// creates a release: a version, a scope (apps, zones, nodes) and stages (a
// canary, then batches), with a health gate and a pause between stages.
// The Controller gives each node of a started stage the new version as its
// target; agents learn it by polling (a long poll, answered as soon as the
// target changes; a missed answer is repaired by the next poll) and report
// each step. When every node of a stage runs the new version and stays
// ready with an error rate under the gate's threshold for the gate's
// window, the next stage starts after the pause. When a gate fails, or an
// operator aborts, the release halts and every node it upgraded gets its
// previous version back as its target.
//
// Releases are kept in a JSON file in the data dir (releases.json,
// replaced atomically on every change), artifacts beside it
// (artifacts/<sha256>); node reports live in memory only (agents report
// again within their report period). NewHandler serves it all over HTTP
// (api/release is the wire contract).
//
// It must never import proxy/..., sdk or agent: it is a server, and speaks
// to agents through api/release only.
package release
