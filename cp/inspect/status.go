package inspect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	pilotapi "github.com/octomesh/octomesh/api/pilot"
)

// ProxyStatus is every sidecar connected to the pilots asked, with its
// sync state per resource kind.
type ProxyStatus struct {
	Pilots   []PilotState    `json:"pilots"`
	Sidecars []SidecarStatus `json:"sidecars"`
	// Unreachable lists the pilots that did not answer: their sidecars
	// are missing from Sidecars.
	Unreachable []Unreachable `json:"unreachable,omitempty"`
}

// PilotState is one pilot asked.
type PilotState struct {
	Pilot
	// Sessions is the number of its sessions (when it answered).
	Sessions int `json:"sessions"`
	// Error says why it did not answer.
	Error string `json:"error,omitempty"`
}

// SidecarStatus is one xDS session (a sidecar, or a proxyless gRPC
// client) on a pilot.
type SidecarStatus struct {
	Node string `json:"node"`
	App  string `json:"app"`
	Zone string `json:"zone,omitempty"`
	// Pilot names the pilot it is connected to (Pilot.Name); PilotHTTP is
	// that pilot's address.
	Pilot     string `json:"pilot"`
	PilotHTTP string `json:"pilot_http"`
	// Admin is the sidecar's admin address, when it sends it.
	Admin string `json:"admin,omitempty"`
	// Delta: a sidecar (delta xDS); false: a proxyless gRPC client.
	Delta          bool      `json:"delta"`
	ConnectedSince time.Time `json:"connected_since"`
	Nacks          uint64    `json:"nacks"`
	LastNack       string    `json:"last_nack,omitempty"`
	// CDS, EDS, RDS, LDS: clusters, endpoints, route rules, and the
	// listeners of proxyless clients.
	CDS KindSync `json:"cds"`
	EDS KindSync `json:"eds"`
	RDS KindSync `json:"rds"`
	LDS KindSync `json:"lds"`
}

// KindSync is one resource kind of a sidecar.
type KindSync struct {
	// State: SYNCED, STALE, NOT SENT or NACKED (the worst of its
	// resources'); NOT SENT when it subscribes to nothing of the kind.
	State string `json:"state"`
	// Summary is State with, when not synced, the first resource that is
	// not: "STALE (acked 1a2b3c4d, current 5e6f7a8b)".
	Summary string `json:"summary"`
	// Stale: the sidecar does not hold the pilot's current version of
	// every resource of the kind (STALE or NACKED).
	Stale bool `json:"stale"`
	// Pending: a response of the kind awaits the sidecar's ACK.
	Pending   bool             `json:"pending,omitempty"`
	Resources []ResourceStatus `json:"resources,omitempty"`
}

// xDS kinds: the pilot's names and the views' columns.
var kindColumns = []struct{ pilot, column string }{
	{"cluster", "CDS"}, {"endpoint", "EDS"}, {"route", "RDS"}, {"listener", "LDS"},
}

// ProxyStatus asks every pilot for its sessions' sync state, at once.
func (in *Inspector) ProxyStatus(ctx context.Context) (ProxyStatus, error) {
	pilots, bad, err := in.Pilots(ctx)
	if err != nil {
		return ProxyStatus{}, err
	}
	st := ProxyStatus{Pilots: make([]PilotState, len(pilots)), Sidecars: []SidecarStatus{}, Unreachable: bad}
	lists := make([][]sessionStatus, len(pilots))
	eachPilot(pilots, func(i int, p Pilot) {
		st.Pilots[i].Pilot = p
		var list []sessionStatus
		if err := in.get(ctx, p.HTTP, pilotapi.StatusPath, &list); err != nil {
			st.Pilots[i].Error = err.Error()
			return
		}
		st.Pilots[i].Sessions = len(list)
		lists[i] = list
	})
	for i, p := range pilots {
		if e := st.Pilots[i].Error; e != "" {
			st.Unreachable = append(st.Unreachable, Unreachable{Source: "pilot " + p.Name(), Error: e})
		}
		for _, s := range lists[i] {
			st.Sidecars = append(st.Sidecars, sidecarStatus(p, s))
		}
	}
	sort.SliceStable(st.Sidecars, func(i, j int) bool { return st.Sidecars[i].Node < st.Sidecars[j].Node })
	return st, nil
}

func sidecarStatus(p Pilot, s sessionStatus) SidecarStatus {
	out := SidecarStatus{Node: s.Node, App: s.App, Zone: s.Zone, Pilot: p.Name(), PilotHTTP: p.HTTP, Admin: s.Admin, Delta: s.Delta,
		ConnectedSince: s.Opened, Nacks: s.Nacks, LastNack: s.LastNack}
	for _, k := range kindColumns {
		ks := kindSync(s.Kinds[k.pilot])
		switch k.column {
		case "CDS":
			out.CDS = ks
		case "EDS":
			out.EDS = ks
		case "RDS":
			out.RDS = ks
		case "LDS":
			out.LDS = ks
		}
	}
	return out
}

// kindSync summarises one kind; a kind the session does not subscribe to
// comes as the zero kindStatus.
func kindSync(k kindStatus) KindSync {
	if k.State == "" {
		return KindSync{State: StateNotSent, Summary: StateNotSent}
	}
	ks := KindSync{State: k.State, Summary: k.State, Pending: k.Pending, Resources: k.Resources,
		Stale: k.State == StateStale || k.State == StateNacked}
	if k.State == StateSynced {
		return ks
	}
	var first *ResourceStatus
	n := 0
	for i := range k.Resources {
		if k.Resources[i].State == k.State {
			if first == nil {
				first = &k.Resources[i]
			}
			n++
		}
	}
	if first == nil {
		return ks
	}
	name := ""
	if len(k.Resources) > 1 {
		name = first.Name + ": "
	}
	more := ""
	if n > 1 {
		more = fmt.Sprintf("; %d more", n-1)
	}
	switch k.State {
	case StateStale:
		ks.Summary = fmt.Sprintf("STALE (%sacked %s, current %s%s)", name, ShortVersion(first.Acked), ShortVersion(first.Current), more)
	case StateNacked:
		ks.Summary = fmt.Sprintf("NACKED (%srefused %s, holds %s%s)", name, ShortVersion(first.Sent), ShortVersion(first.Acked), more)
	case StateNotSent:
		if first.Current == "" {
			ks.Summary = fmt.Sprintf("NOT SENT (%snot loaded%s)", name, more)
		}
	}
	return ks
}

// ShortVersion is a version as the tables show it: its first 8
// characters; "none" for no version, "absent" for Absent.
func ShortVersion(v string) string {
	switch v {
	case "":
		return "none"
	case Absent:
		return "absent"
	}
	if len(v) > 8 {
		return v[:8]
	}
	return v
}

// Kinds returns the sidecar's kinds by column name (CDS, EDS, RDS, LDS).
func (s SidecarStatus) Kinds() map[string]KindSync {
	return map[string]KindSync{"CDS": s.CDS, "EDS": s.EDS, "RDS": s.RDS, "LDS": s.LDS}
}

// Synced reports whether every kind the sidecar subscribes to is SYNCED.
func (s SidecarStatus) Synced() bool {
	for _, k := range []KindSync{s.CDS, s.EDS, s.RDS, s.LDS} {
		if k.State != StateSynced && k.State != StateNotSent {
			return false
		}
	}
	return true
}

// FindSidecar returns the sidecars of node in st.
func (st ProxyStatus) FindSidecar(node string) []SidecarStatus {
	var out []SidecarStatus
	for _, s := range st.Sidecars {
		if s.Node == node {
			out = append(out, s)
		}
	}
	return out
}

// unreachableText joins unreachable sources for an error message.
func unreachableText(list []Unreachable) string {
	parts := make([]string, len(list))
	for i, u := range list {
		parts[i] = u.Source + ": " + u.Error
	}
	return strings.Join(parts, "; ")
}
