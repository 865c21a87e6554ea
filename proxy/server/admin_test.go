package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/gopkg/protocol/thrift"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/downstream"
	"github.com/octomesh/octomesh/proxy/transport"
	"github.com/octomesh/octomesh/proxy/upstream"
	"github.com/octomesh/octomesh/stats/exposition"
)

const adminOn = "admin: {address: \"127.0.0.1:0\"}\n"

// adminGet fetches path from s's admin endpoint over loopback.
func adminGet(t *testing.T, s *Server, path string) (int, string, http.Header) {
	t.Helper()
	return adminDo(t, s, "GET", path, nil)
}

func adminDo(t *testing.T, s *Server, method, path string, header http.Header) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.Ready().Admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// scrape parses /metrics with Prometheus's own parser.
func scrape(t *testing.T, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, h := adminGet(t, s, "/metrics")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", code, h.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return fams
}

// value is the value of the family's sample whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || (l.GetName() == want[i] && l.GetValue() == want[i+1])
			}
			if !found {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.Counter.GetValue()
		case dto.MetricType_GAUGE:
			return m.Gauge.GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, want)
	return 0
}

func TestMetricsNamesTypesAndValuesMove(t *testing.T) {
	s, _, out := oneHop(t, adminOn)
	types := map[string]dto.MetricType{
		"octomesh_config_info":                             dto.MetricType_GAUGE,
		"octomesh_downstream_requests_total":               dto.MetricType_COUNTER,
		"octomesh_downstream_inflight":                     dto.MetricType_GAUGE,
		"octomesh_downstream_requests_waited_total":        dto.MetricType_COUNTER,
		"octomesh_request_errors_total":                    dto.MetricType_COUNTER,
		"octomesh_error_responses_total":                   dto.MetricType_COUNTER,
		"octomesh_oneway_dropped_total":                    dto.MetricType_COUNTER,
		"octomesh_upstream_requests_total":                 dto.MetricType_COUNTER,
		"octomesh_upstream_responses_total":                dto.MetricType_COUNTER,
		"octomesh_upstream_late_responses_total":           dto.MetricType_COUNTER,
		"octomesh_upstream_dial_failures_total":            dto.MetricType_COUNTER,
		"octomesh_upstream_idle_closed_total":              dto.MetricType_COUNTER,
		"octomesh_transport_connections_refused_total":     dto.MetricType_COUNTER,
		"octomesh_transport_connections_idle_closed_total": dto.MetricType_COUNTER,
		"octomesh_upstream_connections":                    dto.MetricType_GAUGE,
		"octomesh_transport_connections_accepted_total":    dto.MetricType_COUNTER,
		"octomesh_transport_connections_dialed_total":      dto.MetricType_COUNTER,
		"octomesh_transport_connections_closed_total":      dto.MetricType_COUNTER,
		"octomesh_transport_accept_errors_total":           dto.MetricType_COUNTER,
		"octomesh_transport_frames_total":                  dto.MetricType_COUNTER,
		"octomesh_transport_bytes_total":                   dto.MetricType_COUNTER,
		"octomesh_decode_failures_total":                   dto.MetricType_COUNTER,
		"octomesh_transport_errors_total":                  dto.MetricType_COUNTER,
		"octomesh_upstream_request_duration_seconds":       dto.MetricType_HISTOGRAM,
		"octomesh_upstream_request_failures_total":         dto.MetricType_COUNTER,
		"octomesh_upstream_error_responses_total":          dto.MetricType_COUNTER,
		"octomesh_retries_total":                           dto.MetricType_COUNTER,
		"octomesh_retries_refused_total":                   dto.MetricType_COUNTER,
		"octomesh_circuit_breaker_open_total":              dto.MetricType_COUNTER,
		"octomesh_outlier_ejections_total":                 dto.MetricType_COUNTER,
		"octomesh_outlier_ejections_refused_total":         dto.MetricType_COUNTER,
		"octomesh_outlier_returns_total":                   dto.MetricType_COUNTER,
		"octomesh_outlier_degraded_total":                  dto.MetricType_COUNTER,
		"octomesh_outlier_probes_total":                    dto.MetricType_COUNTER,
		"octomesh_outlier_probe_failures_total":            dto.MetricType_COUNTER,
		"octomesh_health_probes_answered_total":            dto.MetricType_COUNTER,
		"octomesh_mirrored_total":                          dto.MetricType_COUNTER,
		"octomesh_mirror_dropped_total":                    dto.MetricType_COUNTER,
		"octomesh_mirror_failed_total":                     dto.MetricType_COUNTER,
		"octomesh_rate_limit_limited_total":                dto.MetricType_COUNTER,
		"octomesh_fault_delayed_total":                     dto.MetricType_COUNTER,
		"octomesh_fault_aborted_total":                     dto.MetricType_COUNTER,
		"octomesh_authz_allowed_total":                     dto.MetricType_COUNTER,
		"octomesh_authz_denied_total":                      dto.MetricType_COUNTER,
		"octomesh_tls_handshakes_total":                    dto.MetricType_COUNTER,
		"octomesh_tls_plain_accepted_total":                dto.MetricType_COUNTER,
		"octomesh_tls_handshake_failures_total":            dto.MetricType_COUNTER,
	}
	// The process' own (stats/exposition.WriteProcess); resident memory
	// where /proc/self/statm is.
	types[exposition.HeapInuse], types[exposition.Goroutines] = dto.MetricType_GAUGE, dto.MetricType_GAUGE
	if runtime.GOOS == "linux" {
		types[exposition.ResidentMemory] = dto.MetricType_GAUGE
	}
	before := scrape(t, s)
	for name, typ := range types {
		if f := before[name]; f == nil || f.GetType() != typ || f.GetHelp() == "" {
			t.Errorf("metric %s: %v, want type %v with help", name, f, typ)
		}
	}
	if len(before) != len(types) {
		t.Errorf("%d metric families, this test knows %d: add the new ones here and to docs/operations.md", len(before), len(types))
	}
	if v := value(t, before, "octomesh_upstream_request_duration_seconds", "cluster", "app"); v != 0 {
		t.Errorf("latency count %v before any traffic", v)
	}

	conn := dial(t, out)
	const n = 20
	for i := 1; i <= n; i++ {
		if r := call(t, conn, request("echo", "Echo", int32(i), thrift.CALL, []byte("hello"))); r.body != "hello" {
			t.Fatalf("call %d: %+v", i, r)
		}
	}
	call(t, conn, request("nope", "M", 99, thrift.CALL, nil)) // no route
	bad := dial(t, out)
	bad.Write([]byte("definitely not a TTHeader frame"))
	if err := eventually(func() bool { return statValue(s, "transport.protocol_errors.not_ttheader") == 1 }); err != nil {
		t.Fatal("garbage was not counted")
	}

	after := scrape(t, s)
	moved := []struct {
		name   string
		labels []string
		delta  float64
	}{
		{"octomesh_downstream_requests_total", nil, n + 1},
		{"octomesh_upstream_requests_total", nil, n},
		{"octomesh_upstream_responses_total", nil, n},
		{"octomesh_request_errors_total", []string{"kind", "no_route"}, 1},
		{"octomesh_error_responses_total", nil, 1},
		{"octomesh_decode_failures_total", []string{"kind", "not_ttheader"}, 1},
		{"octomesh_transport_frames_total", []string{"direction", "in"}, 2*n + 1}, // requests in, responses in
		{"octomesh_transport_frames_total", []string{"direction", "out"}, 2*n + 1},
		{"octomesh_transport_connections_accepted_total", nil, 2},
		{"octomesh_upstream_request_duration_seconds", []string{"cluster", "app"}, n},
		{"octomesh_upstream_request_failures_total", []string{"cluster", "app"}, 0},
		{"octomesh_upstream_error_responses_total", []string{"cluster", "app"}, 0},
	}
	for _, m := range moved {
		if d := value(t, after, m.name, m.labels...) - value(t, before, m.name, m.labels...); d != m.delta {
			t.Errorf("%s%v moved by %v, want %v", m.name, m.labels, d, m.delta)
		}
	}
	for _, m := range []string{"octomesh_transport_bytes_total", "octomesh_upstream_connections"} {
		if value(t, after, m) <= 0 {
			t.Errorf("%s is %v after traffic", m, value(t, after, m))
		}
	}
	h := after["octomesh_upstream_request_duration_seconds"].Metric[0].Histogram
	if h.GetSampleSum() <= 0 || h.GetSampleSum() > n*2 || len(h.Bucket) != 27 {
		t.Errorf("latency histogram: sum %v, %d buckets", h.GetSampleSum(), len(h.Bucket))
	}
	if value(t, after, "octomesh_config_info", "version", "static") != 1 {
		t.Error("config version label")
	}
}

func TestStatsAndClusters(t *testing.T) {
	s, be, out := oneHop(t, adminOn)
	conn := dial(t, out)
	for i := 1; i <= 10; i++ {
		call(t, conn, request("echo", "Echo", int32(i), thrift.CALL, []byte("x")))
	}
	code, body, _ := adminGet(t, s, "/stats")
	if code != 200 {
		t.Fatalf("/stats: %d", code)
	}
	for _, want := range []string{"downstream.requests 10\n", "upstream.responses 10\n", "cluster.app.latency.count 10\n", "cluster.app.latency.p99_us "} {
		if !strings.Contains(body, want) {
			t.Errorf("/stats lacks %q:\n%s", want, body)
		}
	}

	code, body, h := adminGet(t, s, "/clusters")
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("/clusters: %d %s", code, h.Get("Content-Type"))
	}
	var cl struct {
		Clusters []clusterDump `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(body), &cl); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if len(cl.Clusters) != 1 || len(cl.Clusters[0].Endpoints) != 1 {
		t.Fatalf("/clusters:\n%s", body)
	}
	c, ep := cl.Clusters[0], cl.Clusters[0].Endpoints[0]
	if c.Name != "app" || c.Balancer != "round_robin" || c.Latency.Count != 10 || c.Latency.P50Us <= 0 || c.Latency.P99Us < c.Latency.P50Us {
		t.Errorf("cluster %+v", c)
	}
	if ep.Address != be.addr || ep.Health != "healthy" || ep.Weight != 1 || ep.Connections < 1 || ep.Inflight != 0 || ep.LatencyEWMAUs <= 0 {
		t.Errorf("endpoint %+v", ep)
	}

	// A dead endpoint reads unreachable once a dial has failed.
	dead := filepath.Join(sockDir(t), "dead.sock")
	if err := s.ApplyClusters([]config.Cluster{clusterTo("app", be.addr), clusterTo("dead", dead)}); err != nil {
		t.Fatal(err)
	}
	_, body, _ = adminGet(t, s, "/clusters")
	if !strings.Contains(body, `"health": "idle"`) {
		t.Errorf("an endpoint never dialled should be idle:\n%s", body)
	}
	r := config.NewRoute("dead")
	r.Service = "dead"
	if err := s.ApplyRoutes("outbound", []config.Route{{Service: "echo", Method: "*", Cluster: "app"}, r}); err != nil {
		t.Fatal(err)
	}
	if got := call(t, conn, request("dead", "M", 77, thrift.CALL, nil)); got.meshError == "" {
		t.Fatalf("call to a dead endpoint: %+v", got)
	}
	_, body, _ = adminGet(t, s, "/clusters")
	if !strings.Contains(body, `"health": "unreachable"`) || !strings.Contains(body, `"last_error": "`) {
		t.Errorf("dead endpoint:\n%s", body)
	}
}

func TestConfigDumpShowsTheActiveConfigAndVersion(t *testing.T) {
	s, be, _ := oneHop(t, adminOn+"limits: {frame_timeout: 250ms}\n")
	dump := func() (out struct {
		Version string         `json:"version"`
		Config  map[string]any `json:"config"`
	}) {
		code, body, _ := adminGet(t, s, "/config_dump")
		if code != 200 {
			t.Fatalf("/config_dump: %d %s", code, body)
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		return out
	}
	d := dump()
	if d.Version != "static" {
		t.Errorf("version %q", d.Version)
	}
	lim := d.Config["limits"].(map[string]any)
	if lim["frame_timeout"] != "250ms" || lim["max_inflight"] != float64(10000) || lim["max_frame_size"] != float64(4<<20) {
		t.Errorf("limits as dumped: %v", lim)
	}
	if d.Config["admin"].(map[string]any)["token_file"] != "" {
		t.Errorf("admin as dumped: %v", d.Config["admin"])
	}

	// What the control plane applies shows, with its version.
	second := newBackend(t, sockDir(t))
	if err := s.ApplyClusters([]config.Cluster{clusterTo("app", be.addr, second.addr)}); err != nil {
		t.Fatal(err)
	}
	s.SetConfigVersion("xds-42")
	d = dump()
	clusters := d.Config["clusters"].([]any)
	eps := clusters[0].(map[string]any)["endpoints"].([]any)
	if d.Version != "xds-42" || len(clusters) != 1 || len(eps) != 2 || eps[1].(map[string]any)["address"] != "unix://"+second.addr {
		t.Errorf("after apply: version %q clusters %v", d.Version, clusters)
	}
	routes := d.Config["listeners"].([]any)[0].(map[string]any)["routes"].([]any)
	if len(routes) != 1 || routes[0].(map[string]any)["cluster"] != "app" || routes[0].(map[string]any)["method"] != "*" {
		t.Errorf("routes %v", routes)
	}
	if v := value(t, scrape(t, s), "octomesh_config_info", "version", "xds-42"); v != 1 {
		t.Errorf("octomesh_config_info{version=xds-42} = %v", v)
	}
}

func TestStaticConfigVersionIsTheFilesHash(t *testing.T) {
	data := []byte("listeners: []\n")
	sum := sha256.Sum256(data)
	if v := StaticConfigVersion(data); v != "static-"+hex.EncodeToString(sum[:])[:12] {
		t.Errorf("StaticConfigVersion = %q", v)
	}
	if StaticConfigVersion(data) == StaticConfigVersion([]byte("listeners: [] \n")) {
		t.Error("different files, same version")
	}
}

func TestLoggingLevelChangesLive(t *testing.T) {
	s, _, _ := oneHop(t, adminOn)
	if code, _, _ := adminGet(t, s, "/logging"); code != http.StatusNotImplemented {
		t.Errorf("/logging without a LevelVar: %d", code)
	}
	var lv slog.LevelVar
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: &lv}))
	s.SetLevelVar(&lv)
	if code, body, _ := adminGet(t, s, "/logging"); code != 200 || !strings.Contains(body, `"level": "info"`) {
		t.Errorf("GET /logging: %d %s", code, body)
	}
	log.Debug("before")
	code, body, _ := adminDo(t, s, "POST", "/logging?level=debug", nil)
	if code != 200 || !strings.Contains(body, `"level": "debug"`) || !strings.Contains(body, `"previous": "info"`) || lv.Level() != slog.LevelDebug {
		t.Errorf("POST /logging?level=debug: %d %s, level now %v", code, body, lv.Level())
	}
	log.Debug("after")
	if strings.Contains(logs.String(), "before") || !strings.Contains(logs.String(), "after") {
		t.Errorf("logs: %q", logs.String())
	}
	if code, _, _ := adminDo(t, s, "PUT", "/logging?level=WARN", nil); code != 200 || lv.Level() != slog.LevelWarn {
		t.Errorf("PUT /logging?level=WARN: %d, level %v", code, lv.Level())
	}
	for _, q := range []string{"", "?level=", "?level=loud"} {
		if code, _, _ := adminDo(t, s, "POST", "/logging"+q, nil); code != http.StatusBadRequest {
			t.Errorf("POST /logging%s: %d, want 400", q, code)
		}
	}
	if lv.Level() != slog.LevelWarn {
		t.Errorf("a bad request changed the level to %v", lv.Level())
	}

	// The same endpoint from another host is refused; faked, not sent.
	r := httptest.NewRequest("POST", "/logging?level=debug", nil)
	r.RemoteAddr = "192.0.2.7:40000"
	w := httptest.NewRecorder()
	s.admin.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || lv.Level() != slog.LevelWarn {
		t.Errorf("POST from 192.0.2.7: %d, level %v", w.Code, lv.Level())
	}
}

func TestAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _, _ := oneHop(t, fmt.Sprintf("admin: {address: \"127.0.0.1:0\", token_file: %q}\n", tok))
	var lv slog.LevelVar
	s.SetLevelVar(&lv)
	if code, _, _ := adminDo(t, s, "POST", "/logging?level=debug", nil); code != http.StatusForbidden {
		t.Errorf("loopback without the token: %d, want 403", code)
	}
	if code, _, _ := adminDo(t, s, "POST", "/logging?level=debug", http.Header{"Authorization": {"Bearer wrong"}}); code != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", code)
	}
	if code, _, _ := adminDo(t, s, "POST", "/logging?level=debug", http.Header{"Authorization": {"Bearer s3cret"}}); code != 200 || lv.Level() != slog.LevelDebug {
		t.Errorf("with the token: %d, level %v", code, lv.Level())
	}
	r := httptest.NewRequest("POST", "/logging?level=error", nil)
	r.RemoteAddr = "192.0.2.7:40000"
	r.Header.Set("Authorization", "Bearer s3cret")
	w := httptest.NewRecorder()
	s.admin.ServeHTTP(w, r)
	if w.Code != 200 || lv.Level() != slog.LevelError {
		t.Errorf("another host with the token: %d, level %v", w.Code, lv.Level())
	}
	if code, _, _ := adminGet(t, s, "/stats"); code != 200 {
		t.Errorf("reads need no token: /stats %d", code)
	}

	for name, file := range map[string]string{"missing": filepath.Join(dir, "nope"), "empty": filepath.Join(dir, "empty")} {
		os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600)
		cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
admin: {address: "127.0.0.1:0", token_file: %q}
listeners: [{name: l, address: "127.0.0.1:0", routes: [{cluster: c}]}]
clusters: [{name: c}]
`, file)))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "admin.token_file") {
			t.Errorf("%s token file: Start error %v", name, err)
		}
		srv.Close()
	}
}

func TestAdminReadOnlyEndpoints(t *testing.T) {
	s, _, _ := oneHop(t, adminOn)
	for path, want := range map[string]string{
		"/healthz":                  "ok",
		"/ready":                    "ready",
		"/debug/pprof/":             "goroutine",
		"/debug/pprof/cmdline":      "",
		"/debug/pprof/heap?debug=1": "heap profile",
	} {
		if code, body, _ := adminGet(t, s, path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %.80q", path, code, body)
		}
	}
	if code, _, _ := adminDo(t, s, "POST", "/stats", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /stats: %d", code)
	}
}

// BenchmarkCountersPerRequest records what one request forwarded by a
// sidecar records in total: the downstream and upstream request counts,
// the response count, frames and bytes in and out on both connections, and
// the cluster's latency histogram. "atomic" is the same eleven counts in
// plain shared atomics and no histogram, for comparison.
func BenchmarkCountersPerRequest(b *testing.B) {
	var st downstream.Stats
	var up upstream.Stats
	var tr transport.Stats
	var c upstream.Cluster
	record := func(d time.Duration) {
		tr.FramesIn.Add(1)
		tr.BytesIn.Add(128)
		st.Requests.Add(1)
		up.Requests.Add(1)
		tr.FramesOut.Add(1)
		tr.BytesOut.Add(128)
		tr.FramesIn.Add(1)
		tr.BytesIn.Add(96)
		c.Latency().Record(d)
		up.Responses.Add(1)
		tr.FramesOut.Add(1)
		tr.BytesOut.Add(96)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		d := 40 * time.Microsecond
		for b.Loop() {
			record(d)
			d += 7
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			d := 40 * time.Microsecond
			for pb.Next() {
				record(d)
				d += 7
			}
		})
	})
	var plain [11]atomic.Uint64
	recordPlain := func() {
		for i := range plain {
			plain[i].Add(1)
		}
	}
	b.Run("atomic/serial", func(b *testing.B) {
		for b.Loop() {
			recordPlain()
		}
	})
	b.Run("atomic/parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				recordPlain()
			}
		})
	})
}
