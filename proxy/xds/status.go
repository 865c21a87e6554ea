package xds

import (
	"fmt"
	"sort"
)

// Status describes the client for the admin endpoint.
type Status struct {
	Pilot string `json:"pilot"`
	// PilotID names the pilot (with Meta).
	PilotID       string            `json:"pilot_id,omitempty"`
	Meta          string            `json:"meta,omitempty"`
	Connected     bool              `json:"connected"`
	LastError     string            `json:"last_error,omitempty"`
	Subscriptions []string          `json:"subscriptions"`
	Absent        []string          `json:"absent,omitempty"`
	Clusters      map[string]string `json:"clusters"`  // service -> version
	Endpoints     map[string]string `json:"endpoints"` // service -> version
	Routes        map[string]string `json:"routes"`    // app -> version
	// Listeners: the served services whose authorization the pilot
	// pushes (service -> version).
	Listeners map[string]string `json:"listeners,omitempty"`
	Applied   AppliedStatus     `json:"applied"`
	Stats     map[string]uint64 `json:"stats"`
}

// AppliedStatus is what the client last applied to the sidecar.
type AppliedStatus struct {
	Clusters map[string][]string `json:"clusters"` // name -> endpoint addresses (weight)
	Routes   []string            `json:"routes"`   // "service/method -> cluster"
}

// Status reports the client's state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Pilot: c.pilot.XDS, PilotID: c.pilot.ID, Meta: c.opts.Meta, Connected: c.connected && c.stream != nil, LastError: c.lastErr,
		Subscriptions: c.subscriptionList(),
		Clusters:      cloneMap(c.st.versions[kCluster]), Endpoints: cloneMap(c.st.versions[kEndpoint]), Routes: cloneMap(c.st.versions[kRoute]),
		Listeners: cloneMap(c.st.versions[kListener]),
		Applied:   AppliedStatus{Clusters: map[string][]string{}},
		Stats: map[string]uint64{"connects": c.Stats.Connects.Load(), "responses": c.Stats.Responses.Load(), "acks": c.Stats.Acks.Load(),
			"nacks": c.Stats.Nacks.Load(), "on_demand": c.Stats.OnDemand.Load(), "await_timeouts": c.Stats.AwaitTimeouts.Load(),
			"meta_lookups": c.Stats.Lookups.Load(), "redirects": c.Stats.Redirects.Load()}}
	for name := range c.st.absent {
		st.Absent = append(st.Absent, name)
	}
	sort.Strings(st.Absent)
	for _, cc := range c.st.clusterSet {
		eps := make([]string, 0, len(cc.Endpoints))
		for _, e := range cc.Endpoints {
			eps = append(eps, fmt.Sprintf("%s (weight %d)", e.Address, e.Weight))
		}
		st.Applied.Clusters[cc.Name] = eps
	}
	for _, r := range c.st.routes {
		st.Applied.Routes = append(st.Applied.Routes, fmt.Sprintf("%s/%s -> %s", r.Service, r.Method, r.Cluster))
	}
	return st
}
