// Package scanner is the wire contract of central health checking: what a
// scanner (cp/scanner) publishes about itself in the shard map (Info,
// under a lease), what it serves over HTTP to the pilots and to the other
// scanners (POST /v1/check: check an address now, the pilots' fast path
// when a sidecar's xDS stream drops; POST /v1/confirm: check an address
// and say what you saw, the double check before a mark), with its one
// client (Client), and the xDS node metadata key under which a sidecar
// names its inbound addresses (NodeInboundKey).
//
// scanner is a leaf: it imports config and the standard library only, and
// must never import proxy/..., sdk or cp/....
package scanner
