package scanner

import "time"

// Info is a scanner's record in the shard map, kept under a lease while it
// lives (cp/shardmap.ScannerKey).
type Info struct {
	ID string `json:"id"`
	// Zone is the zone whose instances it checks; "" is instances without
	// a zone.
	Zone string `json:"zone,omitempty"`
	// HTTP is where it serves /v1/check and /v1/confirm (host:port).
	HTTP    string    `json:"http"`
	Started time.Time `json:"started"`
}

// HTTP paths a scanner serves.
const (
	CheckPath   = "/v1/check"
	ConfirmPath = "/v1/confirm"
)

// CheckRequest asks a scanner to check the sidecar at Address (its inbound
// host:port, the registry's instance address) now rather than at its next
// period. The answer is 202 Accepted at once; the result goes to the
// registry like a periodic check's.
type CheckRequest struct {
	Address string `json:"address"`
}

// ConfirmRequest asks a scanner to check Address at once and answer what it
// saw: another scanner saw it fail and wants a second opinion before
// marking it down.
type ConfirmRequest struct {
	Address string `json:"address"`
	// From is the asking scanner's id, for logs.
	From string `json:"from,omitempty"`
}

// ConfirmResponse is the second opinion.
type ConfirmResponse struct {
	// Scanner is the id of the scanner that checked.
	Scanner string `json:"scanner"`
	// Down is true when the check failed too.
	Down bool `json:"down"`
	// Error is the failed check's error.
	Error string `json:"error,omitempty"`
}

// NodeInboundKey is the key, in the xDS node's metadata, of the list of a
// sidecar's inbound (peer-facing TCP) addresses: a pilot whose stream from
// that sidecar drops asks the owning scanner to check them now.
const NodeInboundKey = "octomesh.inbound"

// NodeAdminKey is the key, in the xDS node's metadata, of the sidecar's
// admin address (host:port, as its admin endpoint listens): the pilot shows
// it in its sessions' status, so that an operator's tool (cp/inspect,
// `octomesh ctl proxy-config`) can read the sidecar's own view
// (/config_dump, /xds) beside the pilot's. A host of 0.0.0.0 or :: means
// every interface of the sidecar's machine.
const NodeAdminKey = "octomesh.admin"
