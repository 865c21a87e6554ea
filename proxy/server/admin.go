package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/admin"
	"github.com/octomesh/octomesh/proxy/upstream"
	"github.com/octomesh/octomesh/stats"
	"github.com/octomesh/octomesh/stats/exposition"
)

// latencyQuantiles are the round-trip quantiles /stats and /clusters show.
var latencyQuantiles = []struct {
	name string
	q    float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}

// StaticConfigVersion is the version of a config read from a file:
// "static-" and the first 12 hex digits of the SHA-256 of its bytes, the
// digits sha256sum prints for the same file.
func StaticConfigVersion(data []byte) string {
	sum := sha256.Sum256(data)
	return "static-" + hex.EncodeToString(sum[:6])
}

// SetConfigVersion sets the version of the active config that /config_dump
// and /metrics report. New sets "static"; octomesh proxy sets the file's
// StaticConfigVersion; a control-plane client sets the version of what it
// applied. Safe to call from any goroutine at any time.
func (s *Server) SetConfigVersion(v string) { s.version.Store(&v) }

// ConfigVersion is the version of the active config.
func (s *Server) ConfigVersion() string { return *s.version.Load() }

// SetLevelVar hands the server the variable that holds its logger's level,
// so that /logging can read and change it while the sidecar runs. Without
// one, /logging answers 501. Safe to call at any time.
func (s *Server) SetLevelVar(v *slog.LevelVar) { s.levelVar.Store(v) }

// startAdmin opens the admin endpoint if the config asks for one, on
// inherited when a process hands its admin socket over.
func (s *Server) startAdmin(inherited net.Listener) error {
	a := s.cfg.Admin
	if a.Address == "" {
		return nil
	}
	var token string
	if a.TokenFile != "" {
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return s.cfg.Errorf("admin.token_file", "%v", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return s.cfg.Errorf("admin.token_file", "%s is empty", a.TokenFile)
		}
	}
	s.admin = admin.New()
	s.admin.RequireToken(token)
	s.admin.Handle("GET /stats", http.HandlerFunc(s.serveStats))
	s.admin.Handle("GET /metrics", http.HandlerFunc(s.serveMetrics))
	s.admin.Handle("GET /config_dump", http.HandlerFunc(s.serveConfigDump))
	s.admin.Handle("GET /clusters", http.HandlerFunc(s.serveClusters))
	s.admin.Handle("GET /logging", http.HandlerFunc(s.serveLogging))
	s.admin.HandleMutating("POST /logging", http.HandlerFunc(s.serveLogging))
	s.admin.HandleMutating("PUT /logging", http.HandlerFunc(s.serveLogging))
	s.admin.HandleMutating("POST /drain", http.HandlerFunc(s.serveDrain))
	// Endpoints of features this config leaves off say so, rather than
	// answering a bare 404.
	if s.xds == nil {
		s.admin.Handle("/subscribe", notConfigured("/subscribe", "xds", "an xds section with a pilot (or meta) address"))
		s.admin.Handle("/xds", notConfigured("/xds", "xds", "an xds section with a pilot (or meta) address"))
	}
	if s.cfg.HotRestart.Socket == "" {
		s.admin.Handle("/hotrestart", notConfigured("/hotrestart", "hot_restart.socket", "hot_restart.socket, a Unix socket path"))
	}
	if inherited != nil {
		s.admin.Serve(inherited)
	} else if err := s.admin.Listen(a.Address); err != nil {
		return s.cfg.Errorf("admin.address", "%v%s", err, inUseHint(err))
	}
	s.admin.SetReady(true)
	s.log.Info("admin ready", "address", s.admin.Addr(), "token", token != "")
	return nil
}

// notConfigured answers every request to path with 409 Conflict: the
// sidecar serves the endpoint only when its config sets field.
func notConfigured(path, field, how string) http.Handler {
	msg := fmt.Sprintf("admin: %s is not available: this sidecar's config has no %s; give it %s and restart the sidecar (see docs/config.md)", path, field, how)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, msg, http.StatusConflict)
	})
}

// writeJSON answers with v as indented JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "admin: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// serveLogging reads (GET) or sets (POST, PUT with ?level=) the log level.
func (s *Server) serveLogging(w http.ResponseWriter, r *http.Request) {
	lv := s.levelVar.Load()
	if lv == nil {
		http.Error(w, "admin: this sidecar's log level is fixed", http.StatusNotImplemented)
		return
	}
	old := lv.Level()
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]string{"level": levelName(old)})
		return
	}
	var l slog.Level
	q := r.URL.Query().Get("level")
	if err := l.UnmarshalText([]byte(strings.ToUpper(q))); err != nil || q == "" {
		http.Error(w, "admin: ?level= must be debug, info, warn or error", http.StatusBadRequest)
		return
	}
	lv.Set(l)
	s.log.Info("log level changed", "from", levelName(old), "to", levelName(l), "by", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]string{"level": levelName(l), "previous": levelName(old)})
}

func levelName(l slog.Level) string { return strings.ToLower(l.String()) }

// configDump is what /config_dump answers.
type configDump struct {
	Version string `json:"version"`
	Config  any    `json:"config"`
}

func (s *Server) serveConfigDump(w http.ResponseWriter, _ *http.Request) {
	cfg, version := s.activeConfig()
	writeJSON(w, http.StatusOK, configDump{Version: version, Config: yamlShaped(reflect.ValueOf(cfg))})
}

// activeConfig is the static config with the clusters, routes and rule
// sets in use now (the control plane may have replaced or added them), and
// its version.
func (s *Server) activeConfig() (config.Config, string) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	c := *s.cfg
	set := *s.clusters.Load()
	c.Clusters = make([]config.Cluster, 0, len(set))
	for _, name := range set.sortedNames() {
		c.Clusters = append(c.Clusters, set[name].cfg)
	}
	c.Listeners = make([]config.Listener, len(s.listeners))
	for i, l := range s.listeners {
		c.Listeners[i] = l.cfg
		c.Listeners[i].Routes = *l.routes.Load()
		c.Listeners[i].Authorization = l.authorization() // static and pushed, as enforced
	}
	return c, s.ConfigVersion()
}

func (set clusterSet) sortedNames() []string {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var durationType = reflect.TypeFor[config.Duration]()

// yamlShaped turns a config value into maps and lists keyed by its YAML
// field names, so the dump reads like the config file: durations as
// "250ms", sizes in bytes, absent optional blocks as null.
func yamlShaped(v reflect.Value) any {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return yamlShaped(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			m[name] = yamlShaped(v.Field(i))
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = yamlShaped(v.Index(i))
		}
		return out
	case reflect.Map:
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[it.Key().String()] = yamlShaped(it.Value())
		}
		return m
	}
	return v.Interface()
}

// clusterDump, endpointDump and latencyDump are what /clusters answers.
type clusterDump struct {
	Name      string         `json:"name"`
	Balancer  string         `json:"balancer"`
	Endpoints []endpointDump `json:"endpoints"`
	Latency   latencyDump    `json:"latency"`
}

type endpointDump struct {
	Address string `json:"address"`
	// Health: "marked down" while central health checking (the scanners)
	// has it marked, "ejected" while outlier detection keeps it out, "healthy"
	// with a connection open, "unreachable" when the last dial failed and
	// none is open, "idle" before the first dial or after every connection
	// closed (the next request dials).
	Health        string  `json:"health"`
	Weight        uint32  `json:"weight"`
	Connections   int     `json:"connections"`
	Inflight      int64   `json:"inflight"`
	LatencyEWMAUs float64 `json:"latency_ewma_us"`
	LastError     string  `json:"last_error,omitempty"`
	// Outlier detection, on clusters that have it: State is "healthy",
	// "degraded" (a quarter of its weight) or "ejected"; Reason says why;
	// ProbeError why the last probe of an ejected endpoint failed.
	State      string `json:"state,omitempty"`
	Reason     string `json:"reason,omitempty"`
	ProbeError string `json:"probe_error,omitempty"`
	Ejections  int    `json:"ejections,omitempty"`
}

type latencyDump struct {
	Count  uint64  `json:"count"`
	MeanUs float64 `json:"mean_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (s *Server) serveClusters(w http.ResponseWriter, _ *http.Request) {
	set := *s.clusters.Load()
	out := struct {
		Clusters []clusterDump `json:"clusters"`
	}{Clusters: make([]clusterDump, 0, len(set))}
	for _, name := range set.sortedNames() {
		e := set[name]
		cd := clusterDump{Name: name, Balancer: e.cfg.Balancer, Endpoints: []endpointDump{}}
		for _, ep := range e.c.Endpoints() {
			cd.Endpoints = append(cd.Endpoints, endpointDump{
				Address: ep.Address, Health: endpointHealth(ep), Weight: ep.Weight, Connections: ep.Conns,
				Inflight: ep.Inflight, LatencyEWMAUs: micros(ep.LatencyEWMA), LastError: ep.LastError,
				State: ep.State, Reason: ep.Reason, ProbeError: ep.ProbeError, Ejections: ep.Ejections,
			})
		}
		h := e.c.Latency().Snapshot()
		cd.Latency = latencyDump{Count: h.Count(), P50Us: micros(h.Quantile(0.5)), P90Us: micros(h.Quantile(0.9)),
			P99Us: micros(h.Quantile(0.99)), P999Us: micros(h.Quantile(0.999))}
		if n := h.Count(); n > 0 {
			cd.Latency.MeanUs = micros(h.Sum / time.Duration(n))
		}
		out.Clusters = append(out.Clusters, cd)
	}
	writeJSON(w, http.StatusOK, out)
}

func endpointHealth(e upstream.EndpointStatus) string {
	switch {
	case e.Unhealthy:
		return "marked down"
	case e.State == "ejected":
		return "ejected"
	case e.Conns > 0:
		return "healthy"
	case e.LastError != "":
		return "unreachable"
	}
	return "idle"
}

func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	var m admin.Metrics
	s.writeMetrics(&m)
	w.Header().Set("Content-Type", admin.MetricsContentType)
	_, _ = m.WriteTo(w)
	exposition.WriteProcess(w) // resident memory, Go heap, goroutines
}

// decodeKinds are the transport error kinds that are decode failures; the
// others (frame_timeout, write, other) are connection errors.
var decodeKinds = map[string]bool{"not_ttheader": true, "too_large": true, "bad_length": true, "bad_header": true, "bad_payload": true}

// writeMetrics writes every metric in the Prometheus text format.
func (s *Server) writeMetrics(m *admin.Metrics) {
	counter := func(name, help string, v uint64) {
		m.Header(name, "counter", help)
		m.Uint(name, v)
	}
	gauge := func(name, help string, v int64) {
		m.Header(name, "gauge", help)
		m.Float(name, float64(v))
	}
	type kindValue struct {
		kind string
		v    uint64
	}
	byKind := func(name, help, label string, kvs []kindValue) {
		m.Header(name, "counter", help)
		for _, kv := range kvs {
			m.Uint(name, kv.v, admin.Label{Name: label, Value: kv.kind})
		}
	}
	st, up, tr := &s.sidecar.Stats, &s.upstream, &s.transport

	m.Header("octomesh_config_info", "gauge", "The version of the active config, as the version label (always 1).")
	m.Uint("octomesh_config_info", 1, admin.Label{Name: "version", Value: s.ConfigVersion()})

	counter("octomesh_downstream_requests_total", "Requests read from callers (the app, peer sidecars).", st.Requests.Load())
	gauge("octomesh_downstream_inflight", "Requests in flight in the sidecar.", s.sidecar.Inflight.Load())
	counter("octomesh_downstream_requests_waited_total", "Requests that waited off the event loop (an on-demand route, a first upstream connection).", st.RequestsWaited.Load())
	byKind("octomesh_request_errors_total", "Requests that failed, by kind.", "kind", []kindValue{
		{"no_route", st.NoRoute.Load()},
		{"no_instances", st.NoInstances.Load()},
		{"overloaded_connection", st.OverloadedConn.Load()},
		{"overloaded_sidecar", st.OverloadedSidecar.Load()},
		{"upstream_overloaded", up.Overloaded.Load()},
		{"unreachable", up.Unreachable.Load()},
		{"timeout", up.Timeouts.Load()},
		{"connection_lost", up.ConnLost.Load()},
		{"write_error", up.WriteErrors.Load()},
		{"circuit_open", up.CircuitOpen.Load() + up.PendingOverflow.Load()},
		{"deadline_exceeded", st.DeadlineExceeded.Load()},
		{"rate_limited", s.counters.Get("rate_limit.limited").Load()},
		{"fault", s.counters.Get("fault.aborted").Load()},
		{"permission_denied", s.counters.Get("authz.denied").Load()},
	})
	counter("octomesh_error_responses_total", "Error responses written to callers.", st.ErrorResponses.Load())
	counter("octomesh_oneway_dropped_total", "Oneway requests that could not be delivered (they get no answer).", st.OnewayDropped.Load())

	s.writeGovernanceMetrics(m)
	s.writeSecurityMetrics(m)

	counter("octomesh_upstream_requests_total", "Requests forwarded to clusters.", up.Requests.Load())
	counter("octomesh_upstream_responses_total", "Responses from upstream endpoints delivered to callers.", up.Responses.Load())
	counter("octomesh_upstream_late_responses_total", "Responses that arrived after their request ended (timed out), dropped.", up.LateResponses.Load())
	counter("octomesh_upstream_dial_failures_total", "Failed dials to upstream endpoints.", up.DialFails.Load())
	counter("octomesh_upstream_idle_closed_total", "Upstream connections closed after the cluster's idle_timeout.", up.IdleClosed.Load())
	gauge("octomesh_upstream_connections", "Upstream connections open.", up.ConnsOpen.Load())

	counter("octomesh_transport_connections_accepted_total", "Connections accepted by listeners.", tr.Accepted.Load())
	counter("octomesh_transport_connections_dialed_total", "Connections dialled to upstream endpoints.", tr.Dialed.Load())
	counter("octomesh_transport_connections_closed_total", "Connections closed, accepted and dialled.", tr.Closed.Load())
	counter("octomesh_transport_accept_errors_total", "Accepts that failed (out of descriptors) or accepted sockets that could not be served.", tr.AcceptErrors.Load())
	counter("octomesh_transport_connections_refused_total", "Connections closed as they were accepted because their listener had max_connections open.", tr.Refused.Load())
	counter("octomesh_transport_connections_idle_closed_total", "Accepted connections closed after their listener's idle_timeout without traffic.", tr.IdleClosed.Load())
	byKind("octomesh_transport_frames_total", "Frames read (in) and written (out), on every connection.", "direction",
		[]kindValue{{"in", tr.FramesIn.Load()}, {"out", tr.FramesOut.Load()}})
	byKind("octomesh_transport_bytes_total", "Frame bytes read (in) and written (out), on every connection.", "direction",
		[]kindValue{{"in", tr.BytesIn.Load()}, {"out", tr.BytesOut.Load()}})
	var decode, conn []kindValue
	for kind, n := range tr.ErrorCounts() {
		if decodeKinds[kind] {
			decode = append(decode, kindValue{kind, n})
		} else {
			conn = append(conn, kindValue{kind, n})
		}
	}
	sortKinds := func(kvs []kindValue) []kindValue {
		sort.Slice(kvs, func(i, j int) bool { return kvs[i].kind < kvs[j].kind })
		return kvs
	}
	byKind("octomesh_decode_failures_total", "Connections closed because what they sent could not be decoded, by kind.", "kind", sortKinds(decode))
	byKind("octomesh_transport_errors_total", "Connections closed for a transport error (frame timeout, failed write), by kind.", "kind", sortKinds(conn))

	const latency = "octomesh_upstream_request_duration_seconds"
	m.Header(latency, "histogram", "Round trips to upstream endpoints, from sending a request to its response, per cluster.")
	set := *s.clusters.Load()
	var bounds []float64
	var cum []uint64
	for _, name := range set.sortedNames() {
		h := set[name].c.Latency().Snapshot()
		bounds, cum = octaves(&h, bounds[:0], cum[:0])
		m.Histogram(latency, []admin.Label{{Name: "cluster", Value: name}}, bounds, cum, h.Count(), h.Sum.Seconds())
	}
	// Per cluster, the calls that did not succeed: with the histogram's
	// count, a caller's calls, errors and latency per destination.
	m.Header("octomesh_upstream_request_failures_total", "counter", "Requests to the cluster that failed in this sidecar without a response (refused, unreachable, timed out, connection lost), per cluster.")
	for _, name := range set.sortedNames() {
		m.Uint("octomesh_upstream_request_failures_total", set[name].c.Failures(), admin.Label{Name: "cluster", Value: name})
	}
	m.Header("octomesh_upstream_error_responses_total", "counter", "Responses from the cluster that were a peer sidecar's mesh error (it could not reach its app, it timed out), per cluster.")
	for _, name := range set.sortedNames() {
		m.Uint("octomesh_upstream_error_responses_total", set[name].c.ErrorResponses(), admin.Label{Name: "cluster", Value: name})
	}
}

// octaves appends a snapshot's power-of-two bounds, in seconds, and the
// cumulative counts at them.
func octaves(h *stats.Snapshot, bounds []float64, cum []uint64) ([]float64, []uint64) {
	h.Octaves(func(b time.Duration, c uint64) {
		bounds = append(bounds, b.Seconds())
		cum = append(cum, c)
	})
	return bounds, cum
}
