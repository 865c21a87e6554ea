package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh/cp/inspect"
)

// The graph from a Prometheus that scrapes the sidecars with the labels
// deploy/prometheus/prometheus.yml sets (component="sidecar", app): the
// same three families as the console's own scrapes, over promWindow.
const promWindow = "1m"

var promQueries = map[string]string{
	"answered":        `sum by (app, cluster) (rate(octomesh_upstream_request_duration_seconds_count{component="sidecar"}[` + promWindow + `]))`,
	"failures":        `sum by (app, cluster) (rate(octomesh_upstream_request_failures_total{component="sidecar"}[` + promWindow + `]))`,
	"error_responses": `sum by (app, cluster) (rate(octomesh_upstream_error_responses_total{component="sidecar"}[` + promWindow + `]))`,
	"p99":             `histogram_quantile(0.99, sum by (app, cluster, le) (rate(octomesh_upstream_request_duration_seconds_bucket{component="sidecar"}[` + promWindow + `])))`,
}

// promResult is the part of Prometheus' /api/v1/query answer read here.
type promResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

func (c *Console) promQuery(ctx context.Context, q string) (map[[2]string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	u := strings.TrimRight(c.opts.Prometheus, "/") + "/api/v1/query?query=" + url.QueryEscape(q)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var r promResult
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: not a Prometheus answer: %v", resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", resp.Status, r.Error)
	}
	out := map[[2]string]float64{}
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("a bad sample value %v", s.Value[1])
		}
		out[[2]string{s.Metric["app"], s.Metric["cluster"]}] = v
	}
	return out, nil
}

// prometheusGraph builds the graph from Prometheus' rates.
func (c *Console) prometheusGraph(ctx context.Context) (GraphView, error) {
	res := map[string]map[[2]string]float64{}
	for name, q := range promQueries {
		r, err := c.promQuery(ctx, q)
		if err != nil {
			return GraphView{}, fmt.Errorf("prometheus %s: query %s: %v", c.opts.Prometheus, name, err)
		}
		res[name] = r
	}
	w, _ := time.ParseDuration(promWindow)
	now := time.Now()
	g := inspect.Graph{Source: "prometheus", From: now.Add(-w), To: now, Window: w.Seconds(), Nodes: []inspect.GraphNode{}, Edges: []inspect.GraphEdge{}}
	apps, services := map[string]bool{}, map[string]bool{}
	for k, answered := range res["answered"] {
		fail := res["failures"][k]
		rps := answered + fail
		e := inspect.GraphEdge{From: "app:" + k[0], To: "service:" + k[1], RPS: rps,
			Calls: uint64(rps*w.Seconds() + 0.5), Errors: uint64((fail+res["error_responses"][k])*w.Seconds() + 0.5)}
		if rps > 0 {
			e.ErrorRate = (fail + res["error_responses"][k]) / rps
		}
		if p, ok := res["p99"][k]; ok && p == p { // NaN: no answered call
			ms := p * 1000
			e.P99Ms = &ms
		}
		apps[k[0]], services[k[1]] = true, true
		g.Edges = append(g.Edges, e)
	}
	for a := range apps {
		g.Nodes = append(g.Nodes, inspect.GraphNode{ID: "app:" + a, Kind: "app", Name: a})
	}
	for s := range services {
		g.Nodes = append(g.Nodes, inspect.GraphNode{ID: "service:" + s, Kind: "service", Name: s})
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	sort.Slice(g.Edges, func(i, j int) bool {
		if g.Edges[i].From != g.Edges[j].From {
			return g.Edges[i].From < g.Edges[j].From
		}
		return g.Edges[i].To < g.Edges[j].To
	})
	return GraphView{Graph: g}, nil
}
