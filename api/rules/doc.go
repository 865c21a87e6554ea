// Package rules is the wire contract of governance changes: the change
// notices that travel on the dispatcher's message bus, and (with the rule
// store) the governance documents that `octomesh ctl` writes.
//
// A notice carries a key, never a value: whoever receives one fetches the
// current value from its source (etcd), so a notice that arrives late or twice
// does no harm, and one that is lost is repaired by the dispatcher's
// back-check, which compares revisions.
//
// It is a leaf: it must never import cp/..., proxy/..., agent or sdk; the
// sidecar, the sdk and outside publishers may import it.
package rules
