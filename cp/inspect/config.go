package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	pilotapi "github.com/octomesh/octomesh/api/pilot"
)

// ProxyConfig is one node's config as its pilot would send it now and as
// the sidecar holds it, and where they differ.
type ProxyConfig struct {
	Node string `json:"node"`
	App  string `json:"app"`
	// Pilot names the pilot the node is connected to; PilotHTTP is its
	// address.
	Pilot     string `json:"pilot"`
	PilotHTTP string `json:"pilot_http"`
	// Admin is the sidecar's admin address asked (from its node metadata,
	// or given).
	Admin string `json:"admin,omitempty"`
	// PilotView is what the pilot would send the node now.
	PilotView ConfigView `json:"pilot_view"`
	// SidecarView is what the sidecar holds; nil when it did not answer
	// (Unreachable says why).
	SidecarView *SidecarView `json:"sidecar_view,omitempty"`
	// Differences between the two (empty when they agree, or when the
	// sidecar could not be asked).
	Differences []Difference  `json:"differences"`
	Unreachable []Unreachable `json:"unreachable,omitempty"`
}

// ConfigView is a node's resources by kind (a kind it does not subscribe
// to is left out).
type ConfigView struct {
	Clusters  []ResourceView `json:"clusters,omitempty"`
	Endpoints []ResourceView `json:"endpoints,omitempty"`
	Routes    []ResourceView `json:"routes,omitempty"`
	// Listeners: proxyless gRPC clients only.
	Listeners []ResourceView `json:"listeners,omitempty"`
}

// ResourceView is one resource as the pilot holds it.
type ResourceView struct {
	Name string `json:"name"`
	// Version: Absent when it does not exist, "" when its data has not
	// loaded.
	Version string `json:"version"`
	// Summary is the resource in a few lines: a cluster's type, balancer
	// and policies; an assignment's endpoints (address, weight, zone, SET,
	// health); a route configuration's routes (match -> cluster).
	Summary []string `json:"summary,omitempty"`
	// Envoy is the Envoy resource as JSON (proto field names).
	Envoy json.RawMessage `json:"envoy,omitempty"`
}

// SidecarView is what a sidecar's admin endpoint says of its xDS config.
type SidecarView struct {
	// Pilot is the xDS address it is connected to; Connected whether its
	// stream is up; LastError its last stream error.
	Pilot     string `json:"pilot"`
	Connected bool   `json:"connected"`
	LastError string `json:"last_error,omitempty"`
	// Versions held, by kind ("cluster", "endpoint", "route") and name.
	Versions map[string]map[string]string `json:"versions"`
	// Absent: subscribed services the pilot said do not exist.
	Absent []string `json:"absent,omitempty"`
	// AppliedClusters: cluster -> "address (weight N)"; AppliedRoutes:
	// "service/method -> cluster". What it applied from the pilot.
	AppliedClusters map[string][]string `json:"applied_clusters"`
	AppliedRoutes   []string            `json:"applied_routes"`
	// ConfigDump is its whole /config_dump (static and pushed config).
	ConfigDump json.RawMessage `json:"config_dump,omitempty"`
}

// Difference is one resource on which the pilot and the sidecar differ.
type Difference struct {
	Kind string `json:"kind"` // cluster, endpoint, route
	Name string `json:"name"`
	// Pilot and Sidecar are their versions ("" the sidecar holds none).
	Pilot   string `json:"pilot"`
	Sidecar string `json:"sidecar"`
	Reason  string `json:"reason"`
}

// ErrUnknownNode is ProxyConfig's error for a node no pilot asked has a
// session of.
var ErrUnknownNode = errors.New("unknown node")

// ProxyConfig gathers node's config from its pilot and from the sidecar.
// admin, if not empty, is the sidecar's admin address to ask instead of
// the one in its node metadata.
func (in *Inspector) ProxyConfig(ctx context.Context, node, admin string) (ProxyConfig, error) {
	if node == "" {
		return ProxyConfig{}, errors.New("inspect: the node id is empty")
	}
	pilots, bad, err := in.Pilots(ctx)
	if err != nil {
		return ProxyConfig{}, err
	}
	found := make([]*nodeConfig, len(pilots))
	errs := make([]error, len(pilots))
	eachPilot(pilots, func(i int, p Pilot) {
		var nc nodeConfig
		if err := in.get(ctx, p.HTTP, pilotapi.ConfigPath+"?node="+url.QueryEscape(node), &nc); err != nil {
			errs[i] = err
			return
		}
		found[i] = &nc
	})
	pc := ProxyConfig{Node: node, Differences: []Difference{}, Unreachable: bad}
	var nc *nodeConfig
	for i, p := range pilots {
		var se *StatusError
		switch {
		case errs[i] != nil && errors.As(errs[i], &se) && se.Code == http.StatusNotFound:
		case errs[i] != nil:
			pc.Unreachable = append(pc.Unreachable, Unreachable{Source: "pilot " + p.Name(), Error: errs[i].Error()})
		case nc == nil:
			nc, pc.Pilot, pc.PilotHTTP = found[i], p.Name(), p.HTTP
		}
	}
	if nc == nil {
		msg := fmt.Sprintf("inspect: node %q has no session on the %d pilot(s) asked", node, len(pilots))
		if len(pc.Unreachable) > 0 {
			msg += " (did not answer: " + unreachableText(pc.Unreachable) + ")"
		}
		return pc, fmt.Errorf("%s: %w", msg, ErrUnknownNode)
	}
	pc.App = nc.App
	pc.PilotView = configView(nc)
	pc.Admin = admin
	if pc.Admin == "" {
		pc.Admin = nc.Admin
	}
	source := fmt.Sprintf("sidecar %s (%s)", node, pc.Admin)
	if pc.Admin == "" {
		pc.Unreachable = append(pc.Unreachable, Unreachable{Source: "sidecar " + node,
			Error: "its node metadata names no admin address (octomesh.admin: a sidecar older than this pilot, or a proxyless client); give its admin address"})
		return pc, nil
	}
	sv, err := in.sidecarView(ctx, pc.Admin)
	if err != nil {
		pc.Unreachable = append(pc.Unreachable, Unreachable{Source: source, Error: err.Error()})
		return pc, nil
	}
	pc.SidecarView = sv
	pc.Differences = differences(nc, sv)
	return pc, nil
}

// sidecarView reads a sidecar's /xds and /config_dump.
func (in *Inspector) sidecarView(ctx context.Context, admin string) (*SidecarView, error) {
	var x sidecarXDS
	if err := in.getAdmin(ctx, admin, "/xds", &x); err != nil {
		return nil, err
	}
	dump, err := in.getAdminRaw(ctx, admin, "/config_dump")
	if err != nil {
		return nil, err
	}
	if !json.Valid(dump) {
		return nil, errors.New("GET /config_dump: the answer is not JSON")
	}
	sv := &SidecarView{Pilot: x.Pilot, Connected: x.Connected, LastError: x.LastError, Absent: x.Absent,
		Versions:        map[string]map[string]string{"cluster": nonNil(x.Clusters), "endpoint": nonNil(x.Endpoints), "route": nonNil(x.Routes)},
		AppliedClusters: x.Applied.Clusters, AppliedRoutes: x.Applied.Routes, ConfigDump: dump}
	return sv, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// differences compares the pilot's versions with the sidecar's, for the
// kinds a sidecar holds.
func differences(nc *nodeConfig, sv *SidecarView) []Difference {
	out := []Difference{}
	absent := map[string]bool{}
	for _, n := range sv.Absent {
		absent[n] = true
	}
	for _, kind := range []string{"cluster", "endpoint", "route"} {
		held := sv.Versions[kind]
		seen := map[string]bool{}
		for _, r := range nc.Kinds[kind] {
			seen[r.Name] = true
			v, has := held[r.Name]
			switch {
			case r.Version == "":
				// The pilot has not loaded it: nothing to compare yet.
			case r.Version == Absent && has:
				out = append(out, Difference{Kind: kind, Name: r.Name, Pilot: Absent, Sidecar: v, Reason: "it does not exist, but the sidecar still holds it"})
			case r.Version == Absent:
			case !has && absent[r.Name] && kind != "route":
				out = append(out, Difference{Kind: kind, Name: r.Name, Pilot: r.Version, Reason: "the sidecar holds it as absent (no instances)"})
			case !has:
				out = append(out, Difference{Kind: kind, Name: r.Name, Pilot: r.Version, Reason: "the sidecar does not hold it"})
			case v != r.Version:
				out = append(out, Difference{Kind: kind, Name: r.Name, Pilot: r.Version, Sidecar: v, Reason: "the sidecar holds another version"})
			}
		}
		names := make([]string, 0, len(held))
		for n := range held {
			if !seen[n] {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, Difference{Kind: kind, Name: n, Sidecar: held[n], Reason: "the sidecar holds it, but the pilot has no subscription of the node to it"})
		}
	}
	return out
}

// configView turns the pilot's answer into views with summaries.
func configView(nc *nodeConfig) ConfigView {
	list := func(kind string, summary func(map[string]any) []string) []ResourceView {
		out := []ResourceView{}
		for _, r := range nc.Kinds[kind] {
			rv := ResourceView{Name: r.Name, Version: r.Version}
			if len(r.Resource) > 0 {
				var b bytes.Buffer
				if json.Compact(&b, r.Resource) == nil {
					rv.Envoy = b.Bytes()
				}
			}
			var m map[string]any
			if len(r.Resource) > 0 && json.Unmarshal(r.Resource, &m) == nil {
				rv.Summary = summary(m)
			}
			out = append(out, rv)
		}
		return out
	}
	v := ConfigView{
		Clusters:  list("cluster", clusterSummary),
		Endpoints: list("endpoint", endpointSummary),
		Routes:    list("route", routeSummary),
	}
	if len(nc.Kinds["listener"]) > 0 {
		v.Listeners = list("listener", func(map[string]any) []string { return nil })
	}
	return v
}

// The summaries read Envoy's JSON (proto field names) generically.

func field(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func str(m any, path ...string) string {
	switch v := field(m, path...).(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}

func items(m any, path ...string) []any {
	l, _ := field(m, path...).([]any)
	return l
}

func clusterSummary(c map[string]any) []string {
	parts := []string{"type " + orDefault(str(c, "type"), "STATIC"), "lb " + orDefault(str(c, "lb_policy"), "ROUND_ROBIN")}
	if t := str(c, "connect_timeout"); t != "" {
		parts = append(parts, "connect timeout "+t)
	}
	out := []string{strings.Join(parts, ", ")}
	for _, t := range items(c, "circuit_breakers", "thresholds") {
		var cb []string
		for _, k := range []string{"max_connections", "max_pending_requests", "max_requests", "max_retries"} {
			if v := str(t, k); v != "" {
				cb = append(cb, k+" "+v)
			}
		}
		if len(cb) > 0 {
			out = append(out, "circuit breaker: "+strings.Join(cb, ", "))
		}
	}
	if od := field(c, "outlier_detection"); od != nil {
		b, _ := json.Marshal(od)
		out = append(out, "outlier detection: "+string(b))
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func endpointSummary(a map[string]any) []string {
	var out []string
	for _, loc := range items(a, "endpoints") {
		zone, set := str(loc, "locality", "zone"), str(loc, "locality", "sub_zone")
		for _, e := range items(loc, "lb_endpoints") {
			addr := str(e, "endpoint", "address", "socket_address", "address")
			if port := str(e, "endpoint", "address", "socket_address", "port_value"); port != "" {
				addr += ":" + port
			}
			if p := str(e, "endpoint", "address", "pipe", "path"); p != "" {
				addr = p
			}
			line := fmt.Sprintf("%s weight %s %s", addr, orDefault(str(e, "load_balancing_weight"), "1"), orDefault(str(e, "health_status"), "UNKNOWN"))
			if zone != "" {
				line += " zone " + zone
			}
			if set != "" {
				line += " set " + set
			}
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		out = append(out, "no endpoints")
	}
	return out
}

func routeSummary(rc map[string]any) []string {
	var out []string
	for _, vh := range items(rc, "virtual_hosts") {
		var domains []string
		for _, d := range items(vh, "domains") {
			if s, ok := d.(string); ok {
				domains = append(domains, s)
			}
		}
		for _, r := range items(vh, "routes") {
			match := str(r, "match", "path")
			if match == "" {
				match = orDefault(str(r, "match", "prefix"), str(r, "match", "safe_regex", "regex"))
				if match == "/" {
					match = "*"
				}
			} else {
				match = strings.TrimPrefix(match, "/")
			}
			var hs []string
			for _, h := range items(r, "match", "headers") {
				hs = append(hs, str(h, "name")+"="+str(h, "string_match", "exact"))
			}
			if len(hs) > 0 {
				match += " [" + strings.Join(hs, ",") + "]"
			}
			target := str(r, "route", "cluster")
			if target == "" {
				var ws []string
				for _, w := range items(r, "route", "weighted_clusters", "clusters") {
					ws = append(ws, str(w, "name")+" "+str(w, "weight"))
				}
				target = "split(" + strings.Join(ws, ", ") + ")"
			}
			line := fmt.Sprintf("%s/%s -> %s", strings.Join(domains, ","), match, target)
			if t := str(r, "route", "timeout"); t != "" {
				line += " timeout " + t
			}
			if n := str(r, "route", "retry_policy", "num_retries"); n != "" {
				line += " retries " + n
			}
			out = append(out, line)
		}
	}
	return out
}
