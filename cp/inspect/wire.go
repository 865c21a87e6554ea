package inspect

import (
	"encoding/json"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

// The JSON of the pilot's operator views (cp/pilot/status.go) and of a
// sidecar's admin GET /xds (proxy/xds.Status), mirrored: this package may
// import neither. The tests read a real pilot's.

// Resource states (cp/pilot's).
const (
	StateSynced  = "SYNCED"
	StateStale   = "STALE"
	StateNotSent = "NOT SENT"
	StateNacked  = "NACKED"
)

// Absent is the version of a resource that does not exist.
const Absent = "-"

// sessionStatus is one of GET /debug/status's sessions.
type sessionStatus struct {
	ID       int64                 `json:"id"`
	Node     string                `json:"node"`
	App      string                `json:"app"`
	Zone     string                `json:"zone"`
	Delta    bool                  `json:"delta"`
	Opened   time.Time             `json:"opened"`
	Admin    string                `json:"admin"`
	Nacks    uint64                `json:"nacks"`
	LastNack string                `json:"last_nack"`
	Kinds    map[string]kindStatus `json:"kinds"`
}

type kindStatus struct {
	State     string           `json:"state"`
	Pending   bool             `json:"pending"`
	Resources []ResourceStatus `json:"resources"`
}

// ResourceStatus is one subscribed resource of a sidecar, as its pilot
// sees it.
type ResourceStatus struct {
	Name string `json:"name"`
	// Current is the pilot's version now (Absent: the resource does not
	// exist; "": its data has not loaded).
	Current string `json:"current"`
	// Acked is the version the sidecar ACKed ("" none).
	Acked string `json:"acked,omitempty"`
	// Sent is the version in the pilot's last response of the kind.
	Sent  string `json:"sent,omitempty"`
	State string `json:"state"`
}

// nodeConfig is GET /debug/config?node='s answer.
type nodeConfig struct {
	Node     string                      `json:"node"`
	App      string                      `json:"app"`
	Admin    string                      `json:"admin"`
	Sessions int                         `json:"sessions"`
	Kinds    map[string][]configResource `json:"kinds"`
}

type configResource struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	Resource json.RawMessage `json:"resource"`
}

// serviceInfo is GET /debug/service?name='s answer.
type serviceInfo struct {
	Service string                `json:"service"`
	Marks   []registry.HealthMark `json:"marks"`
	Rules   []AppliedRule         `json:"rules"`
}

// AppliedRule is one app's route rule that concerns a service.
type AppliedRule struct {
	App string `json:"app"`
	// Index is the rule's place in the app's rules.
	Index int `json:"index"`
	// Why: "service" (calls to it), "cluster" (calls sent to it), "split"
	// or "mirror", joined with "," when several.
	Why  string             `json:"why"`
	Rule registry.RouteRule `json:"rule"`
}

// sidecarXDS is a sidecar's admin GET /xds.
type sidecarXDS struct {
	Pilot         string            `json:"pilot"`
	PilotID       string            `json:"pilot_id"`
	Connected     bool              `json:"connected"`
	LastError     string            `json:"last_error"`
	Subscriptions []string          `json:"subscriptions"`
	Absent        []string          `json:"absent"`
	Clusters      map[string]string `json:"clusters"`
	Endpoints     map[string]string `json:"endpoints"`
	Routes        map[string]string `json:"routes"`
	Applied       struct {
		Clusters map[string][]string `json:"clusters"`
		Routes   []string            `json:"routes"`
	} `json:"applied"`
}
