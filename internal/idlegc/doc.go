// Package idlegc runs the garbage collector while a process is quiet, so
// that a cycle falls between bursts of work rather than into one.
//
// A pilot allocates almost nothing to push a change (cp/pilot: an ACK
// allocates nothing), but its idle work (keepalives, leases, the admin
// page) and a ramp or failover of sessions bring the pacer's next cycle
// due at a moment of its choosing: in a quarter of the 50,000-sidecar
// scale runs one pilot's cycle, marking thousands of sessions' state, fell
// into the push and doubled that pilot's CPU for it. A mock-sidecar
// process runs with the collector off (GOGC=off) for the same reason, and
// without a cycle it would never reuse memory: every allocation would take
// fresh pages, faulted in and zeroed inside the push.
//
// idlegc is a leaf: it must never import another OctoMesh package.
package idlegc
