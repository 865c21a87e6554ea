package meta

import (
	"time"
)

// PilotInfo is what a pilot publishes about itself: its record in the
// shard map (cp/shardmap keeps it in etcd) and, as Meta names it, the
// pilot a sidecar is sent to.
type PilotInfo struct {
	ID string `json:"id"`
	// XDS is where sidecars reach it (config address form:
	// tcp://host:port or unix:///path).
	XDS string `json:"xds"`
	// HTTP serves its /stats, /debug/sessions and registration API.
	HTTP    string    `json:"http,omitempty"`
	Started time.Time `json:"started"`
	// Draining: the pilot is leaving; its apps move at once.
	Draining bool `json:"draining,omitempty"`
}

// OwnerResponse answers GET /v1/owner.
type OwnerResponse struct {
	App   string    `json:"app"`
	Pilot PilotInfo `json:"pilot"`
}

// MaxWait bounds the wait= of a look-up.
const MaxWait = time.Minute

// AssignmentInfo answers GET /v1/assignment.
type AssignmentInfo struct {
	Pilots []PilotLoad       `json:"pilots"`
	Apps   map[string]string `json:"apps"`
	// Capacity is the most apps a pilot may own.
	Capacity int `json:"capacity"`
}

// PilotLoad is one pilot and the number of apps it owns.
type PilotLoad struct {
	PilotInfo
	Apps int `json:"apps"`
}

// AppHeader is the gRPC metadata key in which a sidecar names its app when
// it opens an ADS stream, so that a pilot that does not serve the app
// redirects it before it sends anything (the node's cluster in the first
// request says it too, for clients that do not send the header).
const AppHeader = "x-octomesh-app"
