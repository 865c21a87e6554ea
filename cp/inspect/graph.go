package inspect

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The service graph: who calls whom, how often, with what errors and how
// fast, from two scrapes of the sidecars' /metrics some seconds apart
// (Scrape, then GraphBetween). A sidecar's clusters are the services its
// app calls: octomesh_upstream_request_duration_seconds (answered calls,
// by round trip), octomesh_upstream_request_failures_total (calls that
// got no response) and octomesh_upstream_error_responses_total (a peer
// sidecar's mesh errors), each by cluster.

// Metric families the graph reads from a sidecar's /metrics.
const (
	metricDuration       = "octomesh_upstream_request_duration_seconds"
	metricFailures       = "octomesh_upstream_request_failures_total"
	metricErrorResponses = "octomesh_upstream_error_responses_total"
)

// Scrape is every sidecar's per-cluster counters at one time.
type Scrape struct {
	At       time.Time       `json:"at"`
	Sidecars []SidecarScrape `json:"sidecars"`
	// Unreachable lists the pilots and sidecars that did not answer.
	Unreachable []Unreachable `json:"unreachable,omitempty"`
}

// SidecarScrape is one sidecar's counters.
type SidecarScrape struct {
	Node  string `json:"node"`
	App   string `json:"app"`
	Admin string `json:"admin"`
	// Clusters by name.
	Clusters map[string]ClusterCounts `json:"clusters"`
}

// ClusterCounts are one cluster's counters in a sidecar, since it started
// (or since the cluster was last rebuilt).
type ClusterCounts struct {
	// Answered is the histogram's count: calls that got a response.
	Answered uint64 `json:"answered"`
	// Failures got no response; ErrorResponses were a peer's mesh error.
	Failures       uint64 `json:"failures"`
	ErrorResponses uint64 `json:"error_responses"`
	// Buckets are the histogram's cumulative counts by upper bound.
	Buckets []Bucket `json:"buckets,omitempty"`
}

// Bucket is a histogram's cumulative count at an upper bound (seconds).
type Bucket struct {
	Le    float64 `json:"le"`
	Count uint64  `json:"count"`
}

// Scrape reads the /metrics of every sidecar the pilots know with an
// admin address, at once.
func (in *Inspector) Scrape(ctx context.Context) (Scrape, error) {
	st, err := in.ProxyStatus(ctx)
	if err != nil {
		return Scrape{}, err
	}
	out := Scrape{At: time.Now(), Sidecars: []SidecarScrape{}, Unreachable: st.Unreachable}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range st.Sidecars {
		if s.Admin == "" || !s.Delta {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := in.getAdminRaw(ctx, s.Admin, "/metrics")
			var clusters map[string]ClusterCounts
			if err == nil {
				clusters, err = parseClusterMetrics(body)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.Unreachable = append(out.Unreachable, Unreachable{Source: fmt.Sprintf("sidecar %s (%s)", s.Node, s.Admin), Error: err.Error()})
				return
			}
			out.Sidecars = append(out.Sidecars, SidecarScrape{Node: s.Node, App: s.App, Admin: s.Admin, Clusters: clusters})
		}()
	}
	wg.Wait()
	sort.Slice(out.Sidecars, func(i, j int) bool { return out.Sidecars[i].Node < out.Sidecars[j].Node })
	sort.Slice(out.Unreachable, func(i, j int) bool { return out.Unreachable[i].Source < out.Unreachable[j].Source })
	return out, nil
}

// parseClusterMetrics reads the per-cluster families the graph needs from
// a Prometheus text page.
func parseClusterMetrics(body []byte) (map[string]ClusterCounts, error) {
	out := map[string]ClusterCounts{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "octomesh_upstream_") {
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("/metrics: %v", err)
		}
		cluster := labels["cluster"]
		if cluster == "" {
			continue
		}
		c := out[cluster]
		switch name {
		case metricDuration + "_count":
			c.Answered, seen = uint64(value), true
		case metricDuration + "_bucket":
			le, err := strconv.ParseFloat(labels["le"], 64)
			if err != nil {
				le = math.Inf(1)
			}
			c.Buckets = append(c.Buckets, Bucket{Le: le, Count: uint64(value)})
		case metricFailures:
			c.Failures = uint64(value)
		case metricErrorResponses:
			c.ErrorResponses = uint64(value)
		default:
			continue
		}
		out[cluster] = c
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("/metrics: %v", err)
	}
	if !seen && len(out) > 0 {
		return nil, fmt.Errorf("/metrics: no %s_count: not a sidecar's page", metricDuration)
	}
	return out, nil
}

// parseSample parses `name{a="x",b="y"} value`.
func parseSample(line string) (string, map[string]string, float64, error) {
	labels := map[string]string{}
	name, rest := line, ""
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", nil, 0, fmt.Errorf("bad sample %q", line)
		}
		name, rest = line[:i], strings.TrimSpace(line[j+1:])
		for _, kv := range splitLabels(line[i+1 : j]) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return "", nil, 0, fmt.Errorf("bad label %q in %q", kv, line)
			}
			uq, err := strconv.Unquote(v)
			if err != nil {
				return "", nil, 0, fmt.Errorf("bad label value %s in %q", v, line)
			}
			labels[k] = uq
		}
	} else {
		var ok bool
		name, rest, ok = strings.Cut(line, " ")
		if !ok {
			return "", nil, 0, fmt.Errorf("bad sample %q", line)
		}
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", nil, 0, fmt.Errorf("no value in %q", line)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return "", nil, 0, fmt.Errorf("bad value in %q", line)
	}
	return name, labels, v, nil
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	inQ, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Graph is the service graph over a window.
type Graph struct {
	// Source: "sidecars" (two scrapes) or "prometheus".
	Source string `json:"source"`
	// From and To bound the window; Window is its length in seconds.
	From   time.Time   `json:"from"`
	To     time.Time   `json:"to"`
	Window float64     `json:"window_seconds"`
	Nodes  []GraphNode `json:"nodes"`
	Edges  []GraphEdge `json:"edges"`
	// Unreachable lists the sources that did not answer: their calls are
	// missing.
	Unreachable []Unreachable `json:"unreachable,omitempty"`
}

// GraphNode is an app (whose sidecars call) or a service (called).
type GraphNode struct {
	// ID is "app:NAME" or "service:NAME".
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Sidecars is how many of the app's sidecars were scraped.
	Sidecars int `json:"sidecars,omitempty"`
}

// GraphEdge is an app's calls to a service (a cluster of its sidecars).
type GraphEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Calls and Errors in the window; RPS calls per second; ErrorRate
	// Errors/Calls (0 with no call).
	Calls     uint64  `json:"calls"`
	Errors    uint64  `json:"errors"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"error_rate"`
	// P99Ms is the answered calls' 99th percentile round trip in the
	// window, in milliseconds (interpolated in the histogram's bucket;
	// null with no answered call).
	P99Ms *float64 `json:"p99_ms"`
}

// GraphBetween is the graph of the calls between two scrapes of the same
// sidecars (a before b). A sidecar in b alone is left out (its counters
// hold everything since it started, not the window's calls: it counts
// from the next window); a cluster new in b, or a counter that went down
// (a restarted sidecar, a rebuilt cluster), counts from zero.
func GraphBetween(a, b Scrape) Graph {
	g := Graph{Source: "sidecars", From: a.At, To: b.At, Window: b.At.Sub(a.At).Seconds(), Nodes: []GraphNode{}, Edges: []GraphEdge{},
		Unreachable: b.Unreachable}
	before := map[string]SidecarScrape{}
	for _, s := range a.Sidecars {
		before[s.Node] = s
	}
	type agg struct {
		calls, errs uint64
		buckets     map[float64]uint64
	}
	edges := map[[2]string]*agg{}
	apps := map[string]int{}
	services := map[string]bool{}
	for _, s := range b.Sidecars {
		prev, ok := before[s.Node]
		if !ok {
			continue
		}
		apps[s.App]++
		for name, c := range s.Clusters {
			p := prev.Clusters[name]
			if c.Answered < p.Answered || c.Failures < p.Failures || c.ErrorResponses < p.ErrorResponses {
				p = ClusterCounts{}
			}
			calls := (c.Answered - p.Answered) + (c.Failures - p.Failures)
			errs := (c.Failures - p.Failures) + (c.ErrorResponses - p.ErrorResponses)
			services[name] = true
			k := [2]string{s.App, name}
			e := edges[k]
			if e == nil {
				e = &agg{buckets: map[float64]uint64{}}
				edges[k] = e
			}
			e.calls += calls
			e.errs += errs
			pb := map[float64]uint64{}
			for _, bk := range p.Buckets {
				pb[bk.Le] = bk.Count
			}
			for _, bk := range c.Buckets {
				if bk.Count >= pb[bk.Le] {
					e.buckets[bk.Le] += bk.Count - pb[bk.Le]
				}
			}
		}
	}
	for app, n := range apps {
		g.Nodes = append(g.Nodes, GraphNode{ID: "app:" + app, Kind: "app", Name: app, Sidecars: n})
	}
	for svc := range services {
		g.Nodes = append(g.Nodes, GraphNode{ID: "service:" + svc, Kind: "service", Name: svc})
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	for k, e := range edges {
		ge := GraphEdge{From: "app:" + k[0], To: "service:" + k[1], Calls: e.calls, Errors: e.errs, P99Ms: quantileMs(e.buckets, 0.99)}
		if g.Window > 0 {
			ge.RPS = float64(e.calls) / g.Window
		}
		if e.calls > 0 {
			ge.ErrorRate = float64(e.errs) / float64(e.calls)
		}
		g.Edges = append(g.Edges, ge)
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		if g.Edges[i].From != g.Edges[j].From {
			return g.Edges[i].From < g.Edges[j].From
		}
		return g.Edges[i].To < g.Edges[j].To
	})
	return g
}

// quantileMs reads quantile q (in ms) from cumulative bucket counts,
// interpolating linearly inside the bucket; nil when there is no count.
func quantileMs(buckets map[float64]uint64, q float64) *float64 {
	les := make([]float64, 0, len(buckets))
	for le := range buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return nil
	}
	total := buckets[les[len(les)-1]]
	if total == 0 {
		return nil
	}
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for _, le := range les {
		n := buckets[le]
		if float64(n) >= rank {
			upper := le
			if math.IsInf(upper, 1) {
				upper = lower // beyond the last bound: say the last bound
			}
			frac := 0.0
			if n > below {
				frac = (rank - float64(below)) / float64(n-below)
			}
			v := (lower + (upper-lower)*frac) * 1000
			return &v
		}
		lower, below = le, n
	}
	v := lower * 1000
	return &v
}
