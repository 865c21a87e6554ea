package inspect

import (
	pilotapi "github.com/octomesh/octomesh/api/pilot"
)

// The pilot's operator views speak the wire contract api/pilot. A
// sidecar's admin GET /xds (proxy/xds.Status) is mirrored here: this
// package may not import proxy/...; the tests read a real sidecar's.

// Resource states (api/pilot's).
const (
	StateSynced  = pilotapi.StateSynced
	StateStale   = pilotapi.StateStale
	StateNotSent = pilotapi.StateNotSent
	StateNacked  = pilotapi.StateNacked
)

// Absent is the version of a resource that does not exist.
const Absent = pilotapi.Absent

type (
	// ResourceStatus is one subscribed resource of a sidecar, as its
	// pilot sees it.
	ResourceStatus = pilotapi.ResourceStatus
	// AppliedRule is one app's route rule that concerns a service.
	AppliedRule = pilotapi.AppliedRule

	sessionStatus = pilotapi.SessionStatus
	kindStatus    = pilotapi.KindStatus
	nodeConfig    = pilotapi.NodeConfig
	serviceInfo   = pilotapi.ServiceInfo
)

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
