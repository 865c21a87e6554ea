package pilot

import (
	"encoding/json"
	"time"

	"github.com/octomesh/octomesh/api/registry"
)

// The views' paths on the pilot's HTTP address.
const (
	StatusPath  = "/debug/status"
	ConfigPath  = "/debug/config"
	ServicePath = "/debug/service"
)

// Resource states, per resource and per kind (the worst of its resources).
const (
	// StateSynced: the session ACKed the version the pilot holds.
	StateSynced = "SYNCED"
	// StateStale: the session holds (ACKed) another version than the
	// pilot's, or has not ACKed the one it was sent yet.
	StateStale = "STALE"
	// StateNotSent: nothing of it was sent (no subscription, or its data
	// has not loaded).
	StateNotSent = "NOT SENT"
	// StateNacked: the session refused the last version it was sent.
	StateNacked = "NACKED"
)

// Absent is the version, in the status, of a subscribed resource that does
// not exist (a service without instances, an app without rules).
const Absent = "-"

// SessionStatus is a session with, per resource kind, its sync state.
type SessionStatus struct {
	ID     int64     `json:"id"`
	Node   string    `json:"node"`
	App    string    `json:"app"`
	Zone   string    `json:"zone,omitempty"`
	Delta  bool      `json:"delta"`
	Opened time.Time `json:"opened"`
	// Admin is the sidecar's admin address (host:port) from its node
	// metadata (api/scanner.NodeAdminKey); empty if it did not send one.
	Admin    string `json:"admin,omitempty"`
	Nacks    uint64 `json:"nacks"`
	LastNack string `json:"last_nack,omitempty"`
	// Kinds: cluster, endpoint, route, listener; a kind the session does
	// not subscribe to is left out (NOT SENT).
	Kinds map[string]KindStatus `json:"kinds"`
}

// KindStatus is one resource kind of a session.
type KindStatus struct {
	// State is the worst of its resources' (NACKED, STALE, NOT SENT,
	// SYNCED).
	State string `json:"state"`
	// Pending: a response of this kind awaits the session's ACK.
	Pending   bool             `json:"pending"`
	Resources []ResourceStatus `json:"resources"`
}

// ResourceStatus is one subscribed resource of a session.
// A state-of-the-world session has one, named "*": its versions are of
// the whole response.
type ResourceStatus struct {
	Name string `json:"name"`
	// Current is the version the pilot holds now: Absent when the resource
	// does not exist, "" when its data has not loaded yet.
	Current string `json:"current"`
	// Acked is the version the session ACKed, "" if none.
	Acked string `json:"acked,omitempty"`
	// Sent is the version in the last response of the kind, if it was in
	// it.
	Sent  string `json:"sent,omitempty"`
	State string `json:"state"`
}

// NodeConfig is what the pilot would send a node now: per kind, its
// subscribed resources.
type NodeConfig struct {
	Node string `json:"node"`
	App  string `json:"app"`
	// Admin is the sidecar's admin address from its node metadata.
	Admin string `json:"admin,omitempty"`
	// Sessions is the number of the node's sessions on this pilot (more
	// than one while a reconnecting sidecar's old stream lingers); the
	// subscriptions are their union.
	Sessions int `json:"sessions"`
	// Kinds: cluster, endpoint, route, listener.
	Kinds map[string][]ConfigResource `json:"kinds"`
}

// ConfigResource is one subscribed resource as the pilot holds it.
type ConfigResource struct {
	Name    string `json:"name"`
	Version string `json:"version"` // Absent: does not exist; "": not loaded yet
	// Resource is the Envoy resource as JSON (protojson, proto field
	// names); absent when the resource is.
	Resource json.RawMessage `json:"resource,omitempty"`
}

// ServiceInfo is what etcd says of a service beyond its instances and
// policy (which the registration API serves): the scanners' health marks
// and the apps' route rules that send calls to it.
type ServiceInfo struct {
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
