package inspect

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// metricsPage is a sidecar's /metrics with the families the graph reads,
// for cluster echo: answered calls in buckets, failures, error responses.
func metricsPage(answered []uint64, failures, errResp uint64) []byte {
	var b strings.Builder
	b.WriteString("# TYPE octomesh_upstream_request_duration_seconds histogram\n")
	bounds := []string{"0.001", "0.002", "0.004", "+Inf"}
	var cum uint64
	for i, le := range bounds {
		cum += answered[i]
		fmt.Fprintf(&b, "octomesh_upstream_request_duration_seconds_bucket{cluster=\"echo\",le=\"%s\"} %d\n", le, cum)
	}
	fmt.Fprintf(&b, "octomesh_upstream_request_duration_seconds_sum{cluster=\"echo\"} 0.5\n")
	fmt.Fprintf(&b, "octomesh_upstream_request_duration_seconds_count{cluster=\"echo\"} %d\n", cum)
	fmt.Fprintf(&b, "octomesh_upstream_request_failures_total{cluster=\"echo\"} %d\n", failures)
	fmt.Fprintf(&b, "octomesh_upstream_error_responses_total{cluster=\"echo\"} %d\n", errResp)
	b.WriteString("octomesh_upstream_requests_total 12345\n")
	return []byte(b.String())
}

func scrapeOf(t *testing.T, at time.Time, node, app string, page []byte) Scrape {
	t.Helper()
	c, err := parseClusterMetrics(page)
	if err != nil {
		t.Fatal(err)
	}
	return Scrape{At: at, Sidecars: []SidecarScrape{{Node: node, App: app, Clusters: c}}}
}

// Two scrapes 2s apart: 100 answered calls (90 under 1ms, 10 in 2-4ms),
// 4 failures without a response and 6 error responses between them.
func TestGraphBetweenTwoScrapes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := scrapeOf(t, t0, "web-1", "web", metricsPage([]uint64{10, 0, 0, 0}, 1, 0))
	b := scrapeOf(t, t0.Add(2*time.Second), "web-1", "web", metricsPage([]uint64{100, 0, 10, 0}, 5, 6))
	g := GraphBetween(a, b)
	if len(g.Nodes) != 2 || g.Nodes[0].ID != "app:web" || g.Nodes[1].ID != "service:echo" || g.Nodes[0].Sidecars != 1 {
		t.Fatalf("nodes %+v", g.Nodes)
	}
	if len(g.Edges) != 1 {
		t.Fatalf("edges %+v", g.Edges)
	}
	e := g.Edges[0]
	if e.From != "app:web" || e.To != "service:echo" || e.Calls != 104 || e.Errors != 10 || e.RPS != 52 {
		t.Errorf("edge %+v", e)
	}
	if math.Abs(e.ErrorRate-10.0/104) > 1e-9 {
		t.Errorf("error rate %v", e.ErrorRate)
	}
	// The 99th of 100 answered calls is in the 2-4ms bucket.
	if e.P99Ms == nil || *e.P99Ms <= 2 || *e.P99Ms > 4 {
		t.Errorf("p99 %v", e.P99Ms)
	}
	// A sidecar that restarted (its counters went down) counts from zero.
	c := scrapeOf(t, t0.Add(4*time.Second), "web-1", "web", metricsPage([]uint64{3, 0, 0, 0}, 0, 0))
	if e := GraphBetween(b, c).Edges[0]; e.Calls != 3 || e.Errors != 0 || e.P99Ms == nil || *e.P99Ms > 1 {
		t.Errorf("after a restart: %+v", e)
	}
	// A sidecar the first scrape did not have is left out of the window.
	if g := GraphBetween(Scrape{At: t0}, b); len(g.Edges) != 0 || len(g.Nodes) != 0 {
		t.Errorf("a sidecar new in the second scrape: %+v", g)
	}
	// No call in the window: a rate of 0 and no p99.
	if e := GraphBetween(b, scrapeOf(t, t0.Add(3*time.Second), "web-1", "web", metricsPage([]uint64{100, 0, 10, 0}, 5, 6))).Edges[0]; e.Calls != 0 || e.P99Ms != nil || e.ErrorRate != 0 {
		t.Errorf("idle: %+v", e)
	}
}

func TestParseClusterMetricsErrors(t *testing.T) {
	for _, page := range []string{
		"octomesh_upstream_request_failures_total{cluster=\"echo\" 3\n",
		"octomesh_upstream_request_failures_total{cluster=echo} 3\n",
		"octomesh_upstream_request_failures_total{cluster=\"echo\"} many\n",
		"octomesh_upstream_request_failures_total{cluster=\"echo\"} 3\n", // no histogram: not a sidecar's page
	} {
		if _, err := parseClusterMetrics([]byte(page)); err == nil || !strings.Contains(err.Error(), "/metrics") {
			t.Errorf("%q: %v", page, err)
		}
	}
	// A label value with a comma and an escaped quote.
	name, labels, v, err := parseSample(`octomesh_x{a="1,2",b="say \"hi\""} 7`)
	if err != nil || name != "octomesh_x" || labels["a"] != "1,2" || labels["b"] != `say "hi"` || v != 7 {
		t.Errorf("%s %v %v %v", name, labels, v, err)
	}
}
