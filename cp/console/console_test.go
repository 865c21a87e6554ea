package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/cp/console"
	"github.com/octomesh/octomesh/cp/inspect"
	"github.com/octomesh/octomesh/cp/inspect/inspecttest"
)

func get(t *testing.T, method, url string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: not JSON: %v\n%s", method, url, err, b)
		}
	}
	return resp.StatusCode, string(b), m
}

// A pilot that answers, a pilot and a rule API that hang: every view
// answers with what it has and names what did not answer; the console is
// read-only; the page and its assets are served.
func TestAPIUnreachableSourcesAndReadOnly(t *testing.T) {
	p := inspecttest.StartPilot(t)
	silent := inspecttest.Silent(t)
	c, err := console.New(console.Options{Inspect: inspect.Options{Pilots: []string{p.HTTP, silent}, Timeout: 300 * time.Millisecond},
		RulesServer: inspecttest.Silent(t), ScrapeInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	base := srv.URL

	unreachable := func(m map[string]any) string {
		b, _ := json.Marshal(m["unreachable"])
		return string(b)
	}
	code, body, m := get(t, "GET", base+"/api/sidecars")
	if code != 200 || !strings.Contains(unreachable(m), "pilot "+silent) {
		t.Errorf("/api/sidecars: %d %s", code, body)
	}
	code, body, m = get(t, "GET", base+"/api/controlplane")
	if code != 200 || m["scanners_known"] != true || !strings.Contains(unreachable(m), "pilot "+silent) {
		t.Errorf("/api/controlplane: %d %s", code, body)
	}
	if pilots, _ := m["pilots"].([]any); len(pilots) != 2 || pilots[1].(map[string]any)["error"] == "" {
		t.Errorf("/api/controlplane pilots: %s", body)
	}
	if code, body, m = get(t, "GET", base+"/api/services"); code != 200 || m["services"] == nil {
		t.Errorf("/api/services: %d %s", code, body)
	}
	// The rule API hangs: the view says so, as an error naming it.
	if code, body, m = get(t, "GET", base+"/api/rules"); code != http.StatusBadGateway || !strings.Contains(m["error"].(string), "rule API") {
		t.Errorf("/api/rules: %d %s", code, body)
	}
	if code, body, _ = get(t, "GET", base+"/api/rules/NoSuchKind/x"); code != http.StatusBadRequest || !strings.Contains(body, "not a rule kind") {
		t.Errorf("/api/rules/NoSuchKind/x: %d %s", code, body)
	}
	if code, body, _ = get(t, "GET", base+"/api/services/Bad%20Name"); code != http.StatusBadRequest || !strings.Contains(body, "service name") {
		t.Errorf("/api/services/Bad Name: %d %s", code, body)
	}
	// The graph: once scraped, the hanging pilot is named.
	inspecttest.Eventually(t, "the graph names the hanging pilot", func() (bool, string) {
		code, body, m := get(t, "GET", base+"/api/graph")
		return code == 200 && strings.Contains(unreachable(m), "pilot "+silent), body
	})
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		if code, body, _ = get(t, method, base+"/api/rules"); code != http.StatusMethodNotAllowed || !strings.Contains(body, "read-only") {
			t.Errorf("%s /api/rules: %d %s", method, code, body)
		}
	}
	if code, body, _ = get(t, "GET", base+"/api/nope"); code != http.StatusNotFound || !strings.Contains(body, "/api/graph") {
		t.Errorf("/api/nope: %d %s", code, body)
	}
	if code, body, _ = get(t, "GET", base+"/"); code != 200 || !strings.Contains(body, "/assets/app.js") {
		t.Errorf("/: %d %.200s", code, body)
	}
	for _, a := range []string{"/assets/app.js", "/assets/style.css"} {
		if code, body, _ = get(t, "GET", base+a); code != 200 || len(body) < 500 {
			t.Errorf("%s: %d, %d bytes", a, code, len(body))
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []console.Options{
		{Prometheus: "localhost:9090"},
		{ScrapeInterval: -time.Second},
		{Inspect: inspect.Options{Pilots: []string{"ftp://x"}}},
		{RulesServer: "ftp://x"},
	} {
		if c, err := console.New(o); err == nil {
			c.Close()
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := console.Start("unix:///tmp/x.sock", console.Options{}); err == nil || !strings.Contains(err.Error(), "TCP") {
		t.Errorf("a Unix socket address: %v", err)
	}
}

// With a Prometheus, the graph is its rates: answered plus failed calls,
// failures plus error responses, and the histogram's p99.
func TestGraphFromPrometheus(t *testing.T) {
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		v := "0"
		switch {
		case r.URL.Path != "/api/v1/query":
			http.NotFound(w, r)
			return
		case strings.HasPrefix(q, "histogram_quantile"):
			v = "0.004"
		case strings.Contains(q, "duration_seconds_count"):
			v = "90"
		case strings.Contains(q, "failures_total"):
			v = "10"
		case strings.Contains(q, "error_responses_total"):
			v = "5"
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":"web","cluster":"echo"},"value":[1700000000.0,"`+v+`"]}]}}`)
	}))
	t.Cleanup(prom.Close)
	c, err := console.New(console.Options{Inspect: inspect.Options{Pilots: []string{inspecttest.Silent(t)}, Timeout: 300 * time.Millisecond}, Prometheus: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	code, body, m := get(t, "GET", srv.URL+"/api/graph")
	if code != 200 || m["source"] != "prometheus" {
		t.Fatalf("%d %s", code, body)
	}
	edges, _ := m["edges"].([]any)
	if len(edges) != 1 {
		t.Fatalf("edges: %s", body)
	}
	e := edges[0].(map[string]any)
	if e["from"] != "app:web" || e["to"] != "service:echo" || e["rps"] != 100.0 || e["error_rate"] != 0.15 || e["p99_ms"] != 4.0 {
		t.Errorf("edge: %v", e)
	}
	// A Prometheus that answers an error: the view's error names it.
	c2, err := console.New(console.Options{Inspect: inspect.Options{Pilots: []string{inspecttest.Silent(t)}}, Prometheus: prom.URL + "/nope"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c2.Close)
	srv2 := httptest.NewServer(c2.Handler())
	t.Cleanup(srv2.Close)
	if code, body, _ := get(t, "GET", srv2.URL+"/api/graph"); code != http.StatusBadGateway || !strings.Contains(body, "prometheus") {
		t.Errorf("a bad Prometheus: %d %s", code, body)
	}
}

// The console scrapes nothing until someone asks for the graph: nobody
// looking costs the mesh nothing.
func TestNoScrapeUntilTheGraphIsAsked(t *testing.T) {
	var asks atomic.Int64
	pilot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/status" {
			asks.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
	}))
	t.Cleanup(pilot.Close)
	c, err := console.New(console.Options{Inspect: inspect.Options{Pilots: []string{strings.TrimPrefix(pilot.URL, "http://")}}, ScrapeInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	time.Sleep(200 * time.Millisecond) // ten intervals
	if n := asks.Load(); n != 0 {
		t.Fatalf("%d scrapes before anyone asked for the graph", n)
	}
	g, err := c.Graph(context.Background())
	if err != nil || g.Pending == "" {
		t.Fatalf("first graph: %+v %v", g, err)
	}
	inspecttest.Eventually(t, "two scrapes after the ask", func() (bool, string) {
		g, err := c.Graph(context.Background())
		return err == nil && g.Pending == "" && asks.Load() >= 2, fmt.Sprintf("%d scrapes, %+v", asks.Load(), g)
	})
}
