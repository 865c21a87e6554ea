package pilot

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"

	pilotapi "github.com/octomesh/octomesh/api/pilot"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/store"
)

// The operator's views of a pilot (cp/inspect and `octomesh ctl` read
// them):
//
//	GET /debug/status              every session, per subscribed resource the
//	                               version the pilot holds now next to the one
//	                               the session ACKed, and a state per kind
//	GET /debug/config?node=ID      what the pilot would send node ID now: its
//	                               subscribed resources as Envoy JSON
//	GET /debug/service?name=S      S's health marks and every app's route
//	                               rules that send calls to S (from etcd)

// Resource states, per resource and per kind (the worst of its
// resources): the wire contract's (api/pilot).
const (
	StateSynced  = pilotapi.StateSynced
	StateStale   = pilotapi.StateStale
	StateNotSent = pilotapi.StateNotSent
	StateNacked  = pilotapi.StateNacked
)

// Absent is the version, in the status, of a subscribed resource that does
// not exist (a service without instances, an app without rules).
const Absent = pilotapi.Absent

// The views' answers are the wire contract's types (api/pilot).
type (
	SessionStatus  = pilotapi.SessionStatus
	KindStatus     = pilotapi.KindStatus
	ResourceStatus = pilotapi.ResourceStatus
	NodeConfig     = pilotapi.NodeConfig
	ConfigResource = pilotapi.ConfigResource
	ServiceInfo    = pilotapi.ServiceInfo
	AppliedRule    = pilotapi.AppliedRule
)

// stateRank orders states from best to worst.
var stateRank = map[string]int{StateSynced: 0, StateNotSent: 1, StateStale: 2, StateNacked: 3}

// Status describes every session with its sync state, sorted by node.
func (s *Server) Status() []SessionStatus {
	m := s.sessions
	m.mu.RLock()
	list := make([]*Session, 0, len(m.sessions))
	for _, ss := range m.sessions {
		list = append(list, ss)
	}
	m.mu.RUnlock()
	out := make([]SessionStatus, 0, len(list))
	for _, ss := range list {
		out = append(out, s.snapshot.sessionStatus(ss))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (p *Snapshot) sessionStatus(s *Session) SessionStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SessionStatus{ID: s.id, Node: s.nodeID, App: s.app, Zone: s.zone, Delta: s.delta, Opened: s.opened, Admin: s.admin,
		Nacks: s.nacks, LastNack: s.nacked, Kinds: map[string]KindStatus{}}
	for k := range numKinds {
		if len(s.subs[k]) == 0 {
			continue
		}
		sent := map[string]string{}
		for _, r := range s.sent[k].resources {
			sent[r.GetName()] = r.GetVersion()
		}
		answered := s.sent[k].nonce == ""
		ks := KindStatus{State: StateSynced, Pending: !answered}
		var rs []ResourceStatus
		if s.delta {
			// Only subscribed names: a delta client forgets what it
			// unsubscribes from by itself, without the pilot saying so.
			for n := range s.subs[k] {
				cur := ""
				r, loaded := p.dc.lookup(k, n)
				switch {
				case r != nil:
					cur = r.version
				case loaded:
					cur = absent
				}
				rs = append(rs, resourceStatus(n, cur, s.acked[k][n], sent[n], answered))
			}
		} else {
			rs = append(rs, resourceStatus("*", p.sotwVersion(s, k), s.acked[k]["*"], sent["*"], answered))
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
		for _, r := range rs {
			if stateRank[r.State] > stateRank[ks.State] {
				ks.State = r.State
			}
		}
		ks.Resources = rs
		st.Kinds[k.String()] = ks
	}
	return st
}

// resourceStatus decides one resource's state.
func resourceStatus(name, current, acked, sent string, answered bool) ResourceStatus {
	r := ResourceStatus{Name: name, Current: current, Acked: acked, Sent: sent}
	switch {
	case sent != "" && answered && acked != sent && current != "":
		// The last response carried it, the session answered, and it does
		// not hold that version: it refused it.
		r.State = StateNacked
	case current == "" && acked == "":
		r.State = StateNotSent
	case acked == current, current == absent && acked == "":
		r.State = StateSynced
	case acked == "" && sent == "":
		r.State = StateNotSent
	default:
		r.State = StateStale
	}
	return r
}

// sotwVersion is the version a state-of-the-world response of kind k
// would carry now (as sotwResponse computes it); "" until every subscribed
// resource has loaded. Called with s.mu held.
func (p *Snapshot) sotwVersion(s *Session, k kind) string {
	names := make([]string, 0, len(s.subs[k]))
	for n := range s.subs[k] {
		names = append(names, n)
	}
	sort.Strings(names)
	h := fnv.New64a()
	for _, n := range names {
		r, loaded := p.dc.lookup(k, n)
		if !loaded {
			return ""
		}
		if r != nil {
			h.Write([]byte(n + "=" + r.version + ";"))
		}
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// ErrUnknownNode is NodeConfig's error for a node with no session here.
type ErrUnknownNode struct {
	Node     string
	Sessions int
}

func (e *ErrUnknownNode) Error() string {
	return fmt.Sprintf("pilot: no session of node %q on this pilot (it has %d sessions)", e.Node, e.Sessions)
}

var protoJSON = protojson.MarshalOptions{UseProtoNames: true}

// NodeConfig renders what the pilot would send node now, from the Data
// Cache's encoded resources; *ErrUnknownNode if it has no session here.
func (s *Server) NodeConfig(node string) (NodeConfig, error) {
	m := s.sessions
	m.mu.RLock()
	var list []*Session
	total := len(m.sessions)
	for _, ss := range m.sessions {
		ss.mu.Lock()
		if ss.nodeID == node && node != "" {
			list = append(list, ss)
		}
		ss.mu.Unlock()
	}
	m.mu.RUnlock()
	if len(list) == 0 {
		return NodeConfig{}, &ErrUnknownNode{Node: node, Sessions: total}
	}
	nc := NodeConfig{Node: node, Sessions: len(list), Kinds: map[string][]ConfigResource{}}
	var subs [numKinds]map[string]struct{}
	for _, ss := range list {
		ss.mu.Lock()
		nc.App = ss.app
		if ss.admin != "" {
			nc.Admin = ss.admin
		}
		for k := range numKinds {
			for n := range ss.subs[k] {
				if subs[k] == nil {
					subs[k] = map[string]struct{}{}
				}
				subs[k][n] = struct{}{}
			}
		}
		ss.mu.Unlock()
	}
	for k := range numKinds {
		if len(subs[k]) == 0 {
			continue
		}
		names := make([]string, 0, len(subs[k]))
		for n := range subs[k] {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]ConfigResource, 0, len(names))
		for _, n := range names {
			r, loaded := s.snapshot.dc.lookup(k, n)
			cr := ConfigResource{Name: n}
			switch {
			case r != nil:
				cr.Version = r.version
				b, err := anyJSON(r.any)
				if err != nil {
					return NodeConfig{}, fmt.Errorf("pilot: %s %s: %w", k, n, err)
				}
				cr.Resource = b
			case loaded:
				cr.Version = absent
			}
			out = append(out, cr)
		}
		nc.Kinds[k.String()] = out
	}
	return nc, nil
}

func anyJSON(a *anypb.Any) ([]byte, error) {
	msg, err := a.UnmarshalNew()
	if err != nil {
		return nil, err
	}
	return protoJSON.Marshal(msg)
}

// serviceInfo reads ServiceInfo from etcd, within ctx.
func serviceInfo(ctx context.Context, st *store.Store, service string) (ServiceInfo, error) {
	info := ServiceInfo{Service: service, Marks: []registry.HealthMark{}, Rules: []AppliedRule{}}
	marks, err := firstOf(ctx, func(ctx context.Context, f func(map[string]registry.HealthMark)) {
		st.WatchHealth(ctx, service, f)
	})
	if err != nil {
		return info, fmt.Errorf("health marks: %w", err)
	}
	for _, m := range marks {
		info.Marks = append(info.Marks, m)
	}
	sort.Slice(info.Marks, func(i, j int) bool { return info.Marks[i].Address < info.Marks[j].Address })
	prefix := store.RoutesKey("")
	all, err := firstOf(ctx, func(ctx context.Context, f func(map[string][]byte)) {
		st.WatchPrefix(ctx, prefix, func(state map[string][]byte, _ int64) { f(state) })
	})
	if err != nil {
		return info, fmt.Errorf("route rules: %w", err)
	}
	for key, b := range all {
		app := strings.TrimPrefix(key, prefix)
		routes, err := registry.DecodeRoutes(b)
		if err != nil {
			continue // the store logs bad values where it watches them
		}
		for i, r := range routes.Routes {
			if why := concerns(r, service); why != "" {
				info.Rules = append(info.Rules, AppliedRule{App: app, Index: i, Why: why, Rule: r})
			}
		}
	}
	sort.Slice(info.Rules, func(i, j int) bool {
		if info.Rules[i].App != info.Rules[j].App {
			return info.Rules[i].App < info.Rules[j].App
		}
		return info.Rules[i].Index < info.Rules[j].Index
	})
	return info, nil
}

// concerns says why rule r concerns service ("" if it does not).
func concerns(r registry.RouteRule, service string) string {
	var why []string
	if r.Service == service {
		why = append(why, "service")
	}
	if r.Cluster == service {
		why = append(why, "cluster")
	}
	for _, w := range r.Split {
		if w.Cluster == service {
			why = append(why, "split")
			break
		}
	}
	if r.Mirror != nil && r.Mirror.Cluster == service {
		why = append(why, "mirror")
	}
	return strings.Join(why, ",")
}

// firstOf runs watch until its first update and returns it; an error if
// ctx ends first.
func firstOf[T any](ctx context.Context, watch func(context.Context, func(T))) (T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan T, 1)
	go watch(ctx, func(v T) {
		select {
		case ch <- v:
		default:
		}
	})
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("etcd did not answer: %w", ctx.Err())
	}
}

// serviceInfoTimeout bounds /debug/service's reads of etcd.
const serviceInfoTimeout = 5 * time.Second

// handleStatus adds the operator's views to mux.
func (p *Pilot) handleStatus(mux *http.ServeMux) {
	mux.HandleFunc("GET "+pilotapi.StatusPath, func(w http.ResponseWriter, _ *http.Request) {
		writeStatusJSON(w, http.StatusOK, p.XDS.Status())
	})
	mux.HandleFunc("GET "+pilotapi.ConfigPath, func(w http.ResponseWriter, r *http.Request) {
		node := r.URL.Query().Get("node")
		if node == "" {
			writeStatusJSON(w, http.StatusBadRequest, registry.ErrorBody{Error: "debug/config: the query parameter node (the node id) is required"})
			return
		}
		nc, err := p.XDS.NodeConfig(node)
		if err != nil {
			code := http.StatusInternalServerError
			if _, ok := err.(*ErrUnknownNode); ok {
				code = http.StatusNotFound
			}
			writeStatusJSON(w, code, registry.ErrorBody{Error: err.Error()})
			return
		}
		writeStatusJSON(w, http.StatusOK, nc)
	})
	mux.HandleFunc("GET "+pilotapi.ServicePath, func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if err := config.CheckName(name); err != nil {
			writeStatusJSON(w, http.StatusBadRequest, registry.ErrorBody{Error: fmt.Sprintf("debug/service: the query parameter name (the service): %v", err)})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), serviceInfoTimeout)
		defer cancel()
		info, err := serviceInfo(ctx, p.Store, name)
		if err != nil {
			writeStatusJSON(w, http.StatusServiceUnavailable, registry.ErrorBody{Error: "debug/service: " + err.Error()})
			return
		}
		writeStatusJSON(w, http.StatusOK, info)
	})
}

func writeStatusJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// nodeAdmin is the sidecar's admin address from its node metadata.
func nodeAdmin(node *core.Node) string {
	a := node.GetMetadata().GetFields()[scanner.NodeAdminKey].GetStringValue()
	if len(a) > 256 {
		return ""
	}
	return a
}
