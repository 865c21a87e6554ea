package deploy

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/octomesh/octomesh/agent"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/dispatcher"
	"github.com/octomesh/octomesh/cp/meta"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/cp/scanner"
	"github.com/octomesh/octomesh/proxy/server"
)

// synthetic are the series Prometheus makes itself for every target or
// rule: no /metrics page has them.
var synthetic = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true, "ALERTS": true, "ALERTS_FOR_STATE": true}

// scraped is, per component, the series names its /metrics page has:
// every family, and a histogram's _bucket, _sum and _count.
type scraped map[string]map[string]bool

var quiet = slog.New(slog.DiscardHandler)

// The sidecar's config turns on what the dashboards show: a cluster with
// outlier detection (octomesh_outlier_ejected) and a route with retries.
const sidecarConfig = `
node: {id: metrics-test, app: echo}
admin: {address: "127.0.0.1:0"}
listeners:
  - name: outbound
    address: "unix://%s"
    routes:
      - {service: echo, cluster: echo, retry: {attempts: 2}}
clusters:
  - name: echo
    circuit_breaker: {max_requests: 100}
    outlier_detection: {interval: 5s}
    endpoints: [{address: "127.0.0.1:1"}]
`

// startAll starts a sidecar, Meta with an embedded etcd, a sharded pilot
// and a scanner on that etcd, and an agent's admin endpoint (its
// Supervisor made, not run: its metrics are there, at their start values),
// all in this process, and returns each one's /metrics URL by component.
func startAll(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	urls := map[string]string{}
	addr := func(a string) string { return "http://" + strings.TrimPrefix(a, "tcp://") + "/metrics" }

	cfg, err := config.Parse("sidecar.yaml", []byte(fmt.Sprintf(sidecarConfig, filepath.Join(dir, "out.sock"))))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := server.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.Close)
	urls["sidecar"] = addr(sc.Ready().Admin)

	m, err := meta.Start(meta.Options{HTTPAddress: "127.0.0.1:0", DataDir: filepath.Join(dir, "etcd"), Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	urls["meta"] = addr(m.Addrs().HTTP)
	etcd := []string{m.Addrs().Etcd}

	// The dispatcher first: the pilot and the scanner publish and listen
	// on its NATS, so their notices.* metrics are there too.
	d, err := dispatcher.Start(dispatcher.Options{DataDir: filepath.Join(dir, "dispatcher"), EtcdEndpoints: etcd,
		NATSAddress: "127.0.0.1:0", APIAddress: "127.0.0.1:0", Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	urls["dispatcher"] = addr(d.Addrs().API)
	nats := d.Addrs().NATS

	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: etcd, NATSURL: nats,
		Shard: &pilot.ShardOptions{ID: "p1", LeaseTTL: 2 * time.Second}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	urls["pilot"] = addr(p.Addrs().HTTP)

	s, err := scanner.Start(scanner.Options{ID: "s1", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: etcd, NATSURL: nats, LeaseTTL: 2 * time.Second, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	urls["scanner"] = addr(s.Addr())

	sup, err := agent.New(agent.Config{DataDir: filepath.Join(dir, "agent"), Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(sup.Handler())
	t.Cleanup(as.Close)
	urls["agent"] = as.URL + "/metrics"
	return urls
}

// scrape fetches and parses one /metrics page with Prometheus' parser.
func scrape(t *testing.T, component, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("%s: %v", component, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", component, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%s: GET %s: %s, %q: %s", component, url, resp.Status, resp.Header.Get("Content-Type"), body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s: /metrics does not parse: %v\n%s", component, err, body)
	}
	return fams
}

func seriesNames(fams map[string]*dto.MetricFamily) map[string]bool {
	names := map[string]bool{}
	for name, f := range fams {
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return names
}

// checkNames reports every metric an expression names that the components
// it selects (its component matcher; all of them without one) do not
// export.
func checkNames(file string, exprs []promExpr, have scraped) []string {
	var problems []string
	for _, e := range exprs {
		sels, err := metricNames(e.Expr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", file, e.Where, err))
			continue
		}
		if len(sels) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %s: names no metric: %q", file, e.Where, e.Expr))
		}
		for _, s := range sels {
			if synthetic[s.Name] {
				continue
			}
			comps, ok, err := components(s.Matchers)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", file, e.Where, err))
				continue
			}
			if !ok {
				comps = knownComponents
			}
			found := false
			for _, c := range comps {
				if have[c] == nil {
					problems = append(problems, fmt.Sprintf("%s: %s: component %q is none of %v", file, e.Where, c, knownComponents))
				}
				found = found || have[c][s.Name]
			}
			if !found {
				problems = append(problems, fmt.Sprintf("%s: %s: %s is not in the /metrics of %s", file, e.Where, s.Name, strings.Join(comps, ", ")))
			}
		}
	}
	return problems
}

// exprsOf collects the PromQL of every dashboard and of the alert rules,
// by file.
func exprsOf(t *testing.T) map[string][]promExpr {
	t.Helper()
	out := map[string][]promExpr{}
	for _, name := range files(t, "grafana/dashboards/*.json") {
		_, exprs, errs := readDashboard(name, read(t, name))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs)
		}
		out[name] = exprs
	}
	rules, errs := readAlerts("prometheus/alerts.yml", read(t, "prometheus/alerts.yml"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, r := range rules {
		out["prometheus/alerts.yml"] = append(out["prometheus/alerts.yml"], promExpr{"alert " + r.Alert, r.Expr})
	}
	return out
}

func TestEveryMetricNamedIsExported(t *testing.T) {
	urls := startAll(t)
	have := scraped{}
	for _, c := range knownComponents {
		fams := scrape(t, c, urls[c])
		have[c] = seriesNames(fams)
		for name, f := range fams {
			if f.GetHelp() == "" {
				t.Errorf("%s: %s has no HELP", c, name)
			}
			// Every /stats line of a server is described as a gauge or a
			// counter in its exposition.Subsystem.
			if f.GetType() == dto.MetricType_UNTYPED {
				t.Errorf("%s: %s is untyped: describe its /stats line in the server's metrics.go: %s", c, name, f.GetHelp())
			}
		}
		t.Logf("%s: %d families", c, len(fams))
	}

	all := exprsOf(t)
	names := make([]string, 0, len(all))
	for f := range all {
		names = append(names, f)
	}
	sort.Strings(names)
	used := map[string]bool{}
	for _, f := range names {
		for _, p := range checkNames(f, all[f], have) {
			t.Error(p)
		}
		for _, e := range all[f] {
			sels, _ := metricNames(e.Expr)
			for _, s := range sels {
				used[s.Name] = true
			}
		}
	}
	// The control plane's figures the issue asks for are all shown or
	// alerted on.
	for _, want := range []string{"octomesh_pilot_sessions", "octomesh_pilot_pushes_total", "octomesh_pilot_nacks_total",
		"octomesh_pilot_push_delay_seconds_bucket", "octomesh_meta_moves_total", "octomesh_scanner_checks_total",
		"octomesh_scanner_marked_total", "octomesh_agent_restarts_total", "octomesh_agent_crash_loop",
		"octomesh_downstream_requests_total", "octomesh_request_errors_total", "octomesh_upstream_request_duration_seconds_bucket",
		"octomesh_upstream_connections", "octomesh_retries_total", "octomesh_circuit_breaker_open_total",
		"octomesh_outlier_ejections_total", "process_resident_memory_bytes"} {
		if !used[want] {
			t.Errorf("no dashboard or alert uses %s", want)
		}
	}

	// The check fails on a name that is not exported, wherever it is.
	t.Run("mutated", func(t *testing.T) {
		for _, c := range []struct{ file, from, to, want string }{
			{"grafana/dashboards/octomesh-sidecar.json", "octomesh_upstream_connections{", "octomesh_upstream_connections_open{",
				`panel 8 "Upstream connections" target A: octomesh_upstream_connections_open is not in the /metrics of sidecar`},
			{"grafana/dashboards/octomesh-control-plane.json", "octomesh_pilot_nacks_total", "octomesh_pilot_nack_total",
				"octomesh_pilot_nack_total is not in the /metrics of pilot"},
			{"grafana/dashboards/octomesh-control-plane.json", `label_values(octomesh_pilot_sessions`, `label_values(octomesh_pilot_session`,
				"variable pilot: octomesh_pilot_session is not in the /metrics of pilot"},
			// Exported, but by another component than the one selected.
			{"grafana/dashboards/octomesh-control-plane.json", `octomesh_meta_moves_total{component=\"meta\"}`, `octomesh_meta_moves_total{component=\"pilot\"}`,
				"octomesh_meta_moves_total is not in the /metrics of pilot"},
			{"prometheus/alerts.yml", "octomesh_agent_crash_loop == 1", "octomesh_agent_crashloop == 1",
				"alert OctomeshSidecarCrashLoop: octomesh_agent_crashloop is not in the /metrics of"},
			{"prometheus/alerts.yml", "octomesh_scanner_marked_total", "octomesh_scanner_marks_total",
				"alert OctomeshScannerMarkingFast: octomesh_scanner_marks_total is not in the /metrics of"},
		} {
			orig := string(read(t, c.file))
			if !strings.Contains(orig, c.from) {
				t.Fatalf("%s has no %s to change", c.file, c.from)
			}
			mutated := []byte(strings.Replace(orig, c.from, c.to, 1))
			var exprs []promExpr
			if strings.HasSuffix(c.file, ".json") {
				var errs []error
				if _, exprs, errs = readDashboard(c.file, mutated); len(errs) > 0 {
					t.Fatal(errs)
				}
			} else {
				rules, errs := readAlerts(c.file, mutated)
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				for _, r := range rules {
					exprs = append(exprs, promExpr{"alert " + r.Alert, r.Expr})
				}
			}
			problems := checkNames(c.file, exprs, have)
			if len(problems) != 1 || !strings.Contains(problems[0], c.want) || !strings.HasPrefix(problems[0], c.file) {
				t.Errorf("%s with %s: problems %q, want one saying %q", c.file, c.to, problems, c.want)
			}
		}
	})
}

// The servers' /metrics page follows their /stats page: a counter that
// moves on /stats moves on /metrics.
func TestMetricsFollowStats(t *testing.T) {
	urls := startAll(t)
	base := strings.TrimSuffix(urls["meta"], "/metrics")
	value := func() float64 {
		f := scrape(t, "meta", urls["meta"])["octomesh_meta_lookups_total"]
		if f == nil {
			t.Fatal("meta has no octomesh_meta_lookups_total")
		}
		return f.GetMetric()[0].GetCounter().GetValue()
	}
	before := value()
	for range 3 {
		resp, err := http.Get(base + "/v1/owner?app=bad%20name")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if after := value(); after != before+3 {
		t.Errorf("octomesh_meta_lookups_total went from %v to %v after 3 look-ups", before, after)
	}
}
