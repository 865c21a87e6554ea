// Package rules is the wire contract of governance changes: the governance
// documents that `octomesh ctl` writes and the rule store keeps (their
// decoding, checks and compilation into the registry's route rules and
// policies), the rule store's HTTP API and its one client, and the change
// notices that travel on the dispatcher's message bus.
//
// A document is YAML: kind, metadata {name, revision}, target, spec.
// Caller-side kinds (Route, Retry, Timeout, RateLimit, Fault, Mirror) set
// one thing of the calls an app makes to a service; service-side kinds
// (CircuitBreaker, RetryBudget, OutlierDetection) one thing of the
// service's cluster for every caller. Compile turns documents into
// registry.AppRoutes per app and registry.ServicePolicy per service, with
// the sidecar config's own checks (package config), so a document means
// what the same fields mean in a sidecar's config file. docs/ctl.md is the
// reference.
//
// A notice carries a key, never a value: whoever receives one fetches the
// current value from its source (etcd), so a notice that arrives late or twice
// does no harm, and one that is lost is repaired by the dispatcher's
// back-check, which compares revisions.
//
// It is a leaf over config and api/registry: it must never import cp/...,
// proxy/..., agent or sdk; the sidecar, the sdk, ctl, the console and
// outside publishers may import it.
package rules
