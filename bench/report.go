package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is everything a benchmark measured: every run, and per topology,
// payload and load point the medians over the repetitions.
type Report struct {
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	Elapsed string    `json:"elapsed"`
	// Rendered, when set, is the command that rendered this report again
	// from its JSON.
	Rendered string  `json:"-"`
	Host     Host    `json:"host"`
	Pinning  Pinning `json:"pinning"`
	// SyscallMethod says how syscalls were counted.
	SyscallMethod string `json:"syscall_method"`
	// Baseline is the topology the others are compared with, run by run.
	Baseline string            `json:"baseline"`
	Settings Settings          `json:"settings"`
	Skipped  map[string]string `json:"skipped,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
	Targets  []Target          `json:"targets"`
	Summary  []Summary         `json:"summary"`
	Runs     []RunResult       `json:"runs"`
}

// Host is the machine the report was made on.
type Host struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	OS        string `json:"os"`
	GoVersion string `json:"go_version"`
	// Revision is the commit the octomesh binary was built from, when it
	// was built with VCS stamping.
	Revision string `json:"revision,omitempty"`
}

// Settings echo the Config.
type Settings struct {
	Topologies  []string  `json:"topologies"`
	Payloads    []int     `json:"payloads_bytes"`
	Rates       []float64 `json:"rates_rps"`
	Closed      []int     `json:"closed_loop_callers"`
	Connections int       `json:"open_loop_connections"`
	Warmup      string    `json:"warmup"`
	Duration    string    `json:"duration"`
	Repetitions int       `json:"repetitions"`
	MaxRequests int64     `json:"max_requests_per_window"`
}

// RunResult is one run: one topology, payload and load point, once.
type RunResult struct {
	Topology    string  `json:"topology"`
	Rep         int     `json:"repetition"`
	Point       string  `json:"point"`
	Payload     int     `json:"payload_bytes"`
	Mode        string  `json:"mode"`
	Rate        float64 `json:"rate_rps,omitempty"`
	Callers     int     `json:"callers,omitempty"`
	Connections int     `json:"connections"`
	FrameBytes  int     `json:"request_frame_bytes"`
	Window      float64 `json:"window_s"`
	Responses   int64   `json:"window_responses"`
	Throughput  float64 `json:"throughput_rps"`
	Errors      int64   `json:"errors"`
	// ErrorKinds counts errors by kind, warmup included.
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	Latency    Percentiles      `json:"latency_us"`
	SendLag    *Percentiles     `json:"send_lag_us,omitempty"`
	// Disturbed (open loop) marks a run whose load generator itself sent
	// requests more than DisturbedLag late at p99: the machine took its CPU
	// away for that long, and every latency of the run is inflated.
	Disturbed bool `json:"disturbed,omitempty"`
	// Added is the latency over the baseline's in the same repetition.
	Added           *Percentiles `json:"added_over_baseline_us,omitempty"`
	ThroughputRatio float64      `json:"throughput_ratio_to_baseline,omitempty"`
	// LoadCPU and ServerCPU are the cores the load generator and the echo
	// server kept busy in the window (they share one).
	LoadCPU   float64 `json:"load_generator_cores"`
	ServerCPU float64 `json:"server_cores"`
	// How busy the load CPU and the proxy CPU were in the window (1 = all
	// the time), and the part of that no process of the benchmark explains:
	// a shared machine's other work, this run's noise. Only when pinned.
	LoadCPUBusy    float64      `json:"load_cpu_busy,omitempty"`
	ProxyCPUBusy   float64      `json:"proxy_cpu_busy,omitempty"`
	LoadCPUOthers  float64      `json:"load_cpu_others,omitempty"`
	ProxyCPUOthers float64      `json:"proxy_cpu_others,omitempty"`
	Procs          []ProcResult `json:"proxies,omitempty"`
	Histogram      string       `json:"histogram"`
}

// ProcResult is what one proxy process (sidecar, HAProxy) spent in a run's
// measured window, per request answered in it.
type ProcResult struct {
	Role          string  `json:"role"`
	PID           int     `json:"pid"`
	CPUs          string  `json:"cpus_allowed"`
	CPUPerRequest float64 `json:"cpu_us_per_request"`
	CPUUtil       float64 `json:"cpu_cores"`
	RSSMiB        float64 `json:"rss_mib"`
	// SyscallsPerRequest is counted by perf in the syscall window (the
	// second half of the warmup), per request answered in it; without perf
	// it is RWSyscallsPerRequest.
	SyscallsPerRequest float64 `json:"syscalls_per_request"`
	// Syscalls breaks SyscallsPerRequest down by call (perf only).
	Syscalls map[string]float64 `json:"syscalls_per_request_by_call,omitempty"`
	// RWSyscallsPerRequest is /proc/PID/io syscr+syscw per request, always
	// measured: read/write-type calls only.
	RWSyscallsPerRequest float64 `json:"rw_syscalls_per_request_proc_io"`
}

func (r *RunResult) fromLoad(l *LoadResult) {
	r.Mode, r.Rate, r.Callers, r.Connections = l.Mode, l.Rate, l.Callers, l.Connections
	r.FrameBytes, r.Window, r.Responses = l.FrameBytes, l.Window, l.WindowResponses
	r.Throughput, r.Errors, r.ErrorKinds = l.Throughput, l.Errors, l.ErrorKinds
	r.Latency, r.SendLag, r.Histogram = l.Latency, l.SendLag, l.Histogram
}

// Summary is the median over repetitions of one topology, payload and
// load point. Added and ThroughputRatio are medians of the per-repetition
// comparisons with the baseline.
type Summary struct {
	Topology        string        `json:"topology"`
	Point           string        `json:"point"`
	Payload         int           `json:"payload_bytes"`
	Mode            string        `json:"mode"`
	Rate            float64       `json:"rate_rps,omitempty"`
	Callers         int           `json:"callers,omitempty"`
	Connections     int           `json:"connections"`
	Repetitions     int           `json:"repetitions"`
	Latency         Percentiles   `json:"latency_us"`
	Added           *Percentiles  `json:"added_over_baseline_us,omitempty"`
	Throughput      float64       `json:"throughput_rps"`
	ThroughputRatio float64       `json:"throughput_ratio_to_baseline,omitempty"`
	Errors          int64         `json:"errors"` // summed over repetitions
	LoadCPU         float64       `json:"load_generator_cores"`
	ServerCPU       float64       `json:"server_cores"`
	LoadCPUOthers   float64       `json:"load_cpu_others"`
	ProxyCPUOthers  float64       `json:"proxy_cpu_others"`
	SendLagP99      float64       `json:"send_lag_p99_us,omitempty"`
	Disturbed       int           `json:"disturbed_repetitions,omitempty"`
	Procs           []ProcSummary `json:"proxies,omitempty"`
}

// ProcSummary is the median of one proxy's ProcResults.
type ProcSummary struct {
	Role                 string             `json:"role"`
	CPUPerRequest        float64            `json:"cpu_us_per_request"`
	CPUUtil              float64            `json:"cpu_cores"`
	RSSMiB               float64            `json:"rss_mib"`
	SyscallsPerRequest   float64            `json:"syscalls_per_request"`
	Syscalls             map[string]float64 `json:"syscalls_per_request_by_call,omitempty"`
	RWSyscallsPerRequest float64            `json:"rw_syscalls_per_request_proc_io"`
}

// Target is one of the sidecar's performance targets and where it stands.
type Target struct {
	Target   string `json:"target"`
	Status   string `json:"status"` // met, missed, not measured
	Measured string `json:"measured"`
	// Reference, when set, is what the same path through HAProxy
	// (T2-HAProxy) reached where the target is measured; it does not count
	// toward Status.
	Reference string `json:"reference,omitempty"`
}

func newReport(cfg *Config, e *env, started time.Time) *Report {
	return &Report{
		Command: cfg.Command, Started: started.UTC().Truncate(time.Second), Host: hostInfo(),
		Settings: Settings{
			Topologies: cfg.Topologies, Payloads: cfg.Payloads, Rates: cfg.Rates, Closed: cfg.Closed,
			Connections: cfg.Connections, Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(),
			Repetitions: cfg.Repetitions, MaxRequests: cfg.MaxRequests,
		},
		Skipped: e.skipped, Notes: e.notes,
	}
}

// finish compares each run with the baseline of its repetition, computes
// the medians and checks the targets.
func (r *Report) finish() {
	if r.Elapsed == "" {
		r.Elapsed = time.Since(r.Started).Round(time.Second).String()
	}
	for _, b := range []string{T0UDS, T0TCP} {
		if slices.ContainsFunc(r.Runs, func(x RunResult) bool { return x.Topology == b }) {
			r.Baseline = b
			break
		}
	}
	type key struct {
		topo, point string
		payload     int
	}
	base := map[key]map[int]*RunResult{}
	for i := range r.Runs {
		x := &r.Runs[i]
		if x.Topology == r.Baseline {
			k := key{"", x.Point, x.Payload}
			if base[k] == nil {
				base[k] = map[int]*RunResult{}
			}
			base[k][x.Rep] = x
		}
	}
	groups := map[key][]*RunResult{}
	var order []key
	for i := range r.Runs {
		x := &r.Runs[i]
		x.Disturbed = x.SendLag != nil && x.SendLag.P99 > DisturbedLag.Seconds()*1e6
		if b := base[key{"", x.Point, x.Payload}][x.Rep]; b != nil && x.Topology != r.Baseline {
			x.Added = &Percentiles{
				P50: round2(x.Latency.P50 - b.Latency.P50), P90: round2(x.Latency.P90 - b.Latency.P90),
				P99: round2(x.Latency.P99 - b.Latency.P99), P999: round2(x.Latency.P999 - b.Latency.P999),
				Max: round2(x.Latency.Max - b.Latency.Max),
			}
			if b.Throughput > 0 {
				x.ThroughputRatio = round2(x.Throughput / b.Throughput)
			}
		}
		k := key{x.Topology, x.Point, x.Payload}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], x)
	}
	// Report order: payload, load point (as configured), topology.
	rank := func(list []string, s string) int { return slices.Index(list, s) }
	var points []string
	for _, x := range r.Runs {
		if !slices.Contains(points, x.Point) {
			points = append(points, x.Point)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.payload != b.payload {
			return a.payload < b.payload
		}
		if a.point != b.point {
			return rank(points, a.point) < rank(points, b.point)
		}
		return rank(AllTopologies, a.topo) < rank(AllTopologies, b.topo)
	})
	r.Summary = nil
	for _, k := range order {
		r.Summary = append(r.Summary, summarise(groups[k]))
	}
	r.Targets = r.checkTargets()
}

func summarise(runs []*RunResult) Summary {
	f := runs[0]
	s := Summary{Topology: f.Topology, Point: f.Point, Payload: f.Payload, Mode: f.Mode, Rate: f.Rate,
		Callers: f.Callers, Connections: f.Connections, Repetitions: len(runs)}
	med := func(get func(*RunResult) float64) float64 {
		v := make([]float64, 0, len(runs))
		for _, x := range runs {
			v = append(v, get(x))
		}
		return median(v)
	}
	s.Latency = Percentiles{
		P50: med(func(x *RunResult) float64 { return x.Latency.P50 }), P90: med(func(x *RunResult) float64 { return x.Latency.P90 }),
		P99: med(func(x *RunResult) float64 { return x.Latency.P99 }), P999: med(func(x *RunResult) float64 { return x.Latency.P999 }),
		Max: med(func(x *RunResult) float64 { return x.Latency.Max }),
	}
	if f.Added != nil {
		s.Added = &Percentiles{
			P50: med(func(x *RunResult) float64 { return x.Added.P50 }), P90: med(func(x *RunResult) float64 { return x.Added.P90 }),
			P99: med(func(x *RunResult) float64 { return x.Added.P99 }), P999: med(func(x *RunResult) float64 { return x.Added.P999 }),
			Max: med(func(x *RunResult) float64 { return x.Added.Max }),
		}
		s.ThroughputRatio = med(func(x *RunResult) float64 { return x.ThroughputRatio })
	}
	s.Throughput = med(func(x *RunResult) float64 { return x.Throughput })
	s.LoadCPU = med(func(x *RunResult) float64 { return x.LoadCPU })
	s.ServerCPU = med(func(x *RunResult) float64 { return x.ServerCPU })
	s.LoadCPUOthers = med(func(x *RunResult) float64 { return x.LoadCPUOthers })
	s.ProxyCPUOthers = med(func(x *RunResult) float64 { return x.ProxyCPUOthers })
	if f.SendLag != nil {
		s.SendLagP99 = med(func(x *RunResult) float64 { return x.SendLag.P99 })
	}
	for _, x := range runs {
		s.Errors += x.Errors
		if x.Disturbed {
			s.Disturbed++
		}
	}
	for i, p := range f.Procs {
		get := func(g func(ProcResult) float64) float64 {
			return med(func(x *RunResult) float64 { return g(x.Procs[i]) })
		}
		ps := ProcSummary{Role: p.Role,
			CPUPerRequest:        get(func(p ProcResult) float64 { return p.CPUPerRequest }),
			CPUUtil:              get(func(p ProcResult) float64 { return p.CPUUtil }),
			RSSMiB:               get(func(p ProcResult) float64 { return p.RSSMiB }),
			SyscallsPerRequest:   get(func(p ProcResult) float64 { return p.SyscallsPerRequest }),
			RWSyscallsPerRequest: get(func(p ProcResult) float64 { return p.RWSyscallsPerRequest }),
		}
		if p.Syscalls != nil {
			ps.Syscalls = map[string]float64{}
			for name := range p.Syscalls {
				ps.Syscalls[name] = get(func(p ProcResult) float64 { return p.Syscalls[name] })
			}
		}
		s.Procs = append(s.Procs, ps)
	}
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return round2((s[n/2-1] + s[n/2]) / 2)
}

// DisturbedLag is the send lag (p99) above which an open-loop run counts as
// disturbed. An undisturbed generator keeps its schedule to well under
// 100 µs.
const DisturbedLag = 250 * time.Microsecond

// ReadReport loads a report written by WriteJSON, to render it again.
func ReadReport(file string) (*Report, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := &Report{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(r.Runs) == 0 {
		return nil, fmt.Errorf("%s: no runs", file)
	}
	r.finish()
	return r, nil
}

// Target values, from the issue.
const (
	targetCPUPerHop    = 10.0  // µs of sidecar CPU per request per hop
	targetT2Throughput = 0.85  // T2 closed-loop throughput over T0
	targetT2AddedP99   = 100.0 // µs added at p99 by T2 at 5k req/s, 1 KiB
)

func (r *Report) checkTargets() []Target {
	var out []Target
	// 1. CPU per request per hop, every sidecar at every point.
	t := Target{Target: fmt.Sprintf("sidecar CPU <= %g µs per request per hop", targetCPUPerHop)}
	worst, where := -1.0, ""
	for _, s := range r.Summary {
		if s.Topology != T1 && s.Topology != T2 {
			continue
		}
		for _, p := range s.Procs {
			if p.CPUPerRequest > worst {
				worst, where = p.CPUPerRequest, fmt.Sprintf("%s %s, %d B, %s", s.Topology, p.Role, s.Payload, s.Point)
			}
		}
	}
	if worst < 0 {
		t.Status, t.Measured = "not measured", "no T1 or T2 run"
	} else {
		t.Status = status(worst <= targetCPUPerHop)
		t.Measured = fmt.Sprintf("worst %.1f µs (%s); %s", worst, where, r.cpuRange())
	}
	out = append(out, t)

	// 2. T2 closed-loop throughput over T0.
	t = Target{Target: fmt.Sprintf("T2 closed-loop throughput >= %.2fx %s", targetT2Throughput, r.Baseline)}
	var parts, ref []string
	ok, any := true, false
	for _, s := range r.Summary {
		if s.Mode != "closed" || s.Added == nil {
			continue
		}
		switch s.Topology {
		case T2:
			any = true
			ok = ok && s.ThroughputRatio >= targetT2Throughput
			parts = append(parts, r.throughputRatio(s))
		case T2HAProxy:
			ref = append(ref, r.throughputRatio(s))
		}
	}
	t.Status, t.Measured = "not measured", "no closed-loop T2 and T0 runs"
	if any {
		t.Status, t.Measured = status(ok), strings.Join(parts, "; ")
	}
	t.Reference = reference(ref)
	out = append(out, t)

	// 3. T2 added p99 at 5k req/s with 1 KiB payloads.
	t = Target{Target: fmt.Sprintf("T2 adds <= %g µs at p99 at 5k req/s, 1 KiB", targetT2AddedP99),
		Status: "not measured", Measured: "no T2 run at 5k req/s with 1 KiB and a baseline"}
	for _, s := range r.Summary {
		if s.Mode != "open" || s.Rate != 5000 || s.Payload != 1024 || s.Added == nil {
			continue
		}
		switch s.Topology {
		case T2:
			t.Status = status(s.Added.P99 <= targetT2AddedP99)
			t.Measured = r.addedP99(s)
		case T2HAProxy:
			t.Reference = reference([]string{r.addedP99(s)})
		}
	}
	out = append(out, t)

	// 4. T1 cheaper than HAProxy, point by point.
	t = Target{Target: "T1 sidecar CPU per request < HAProxy's"}
	parts, ok, any = nil, true, false
	for _, s := range r.Summary {
		if s.Topology != T1 || len(s.Procs) == 0 {
			continue
		}
		for _, h := range r.Summary {
			if h.Topology == T1HAProxy && h.Payload == s.Payload && h.Point == s.Point && len(h.Procs) > 0 {
				any = true
				a, b := s.Procs[0].CPUPerRequest, h.Procs[0].CPUPerRequest
				ok = ok && a < b
				parts = append(parts, fmt.Sprintf("%d B %s: %.1f vs %.1f µs", s.Payload, s.Point, a, b))
			}
		}
	}
	t.Status, t.Measured = "not measured", "no T1-HAProxy runs"
	if why, skipped := r.Skipped[T1HAProxy]; skipped {
		t.Measured = "T1-HAProxy skipped: " + why
	}
	if any {
		t.Status, t.Measured = status(ok), strings.Join(parts, "; ")
	}
	out = append(out, t)

	// 5. Governance costs T2 at most 10% more CPU, point by point.
	t = Target{Target: fmt.Sprintf("T2-Governed sidecar CPU per request <= %.2fx T2's (every policy configured, none triggering)", targetGovernedCPU),
		Status: "not measured", Measured: "no T2 and T2-Governed runs at the same point"}
	parts, ok, any = nil, true, false
	for _, g := range r.Summary {
		if g.Topology != T2Governed || len(g.Procs) == 0 {
			continue
		}
		for _, s := range r.Summary {
			if s.Topology == T2 && s.Payload == g.Payload && s.Point == g.Point && len(s.Procs) == len(g.Procs) {
				var a, b float64
				for i := range s.Procs {
					a, b = a+g.Procs[i].CPUPerRequest, b+s.Procs[i].CPUPerRequest
				}
				any = true
				ok = ok && a <= b*targetGovernedCPU
				parts = append(parts, fmt.Sprintf("%d B %s: A+B %.1f vs %.1f µs (%.2fx)", g.Payload, g.Point, a, b, a/b))
			}
		}
	}
	if any {
		t.Status, t.Measured = status(ok), strings.Join(parts, "; ")
	}
	out = append(out, t)

	// 6. What mutual TLS costs, point by point: no target, the figures.
	t = Target{Target: "T2-mTLS against T2: sidecar CPU per request (A+B), p99, throughput (no target: what mutual TLS costs)",
		Status: "not measured", Measured: "no T2 and T2-mTLS runs at the same point"}
	parts = nil
	for _, m := range r.Summary {
		if m.Topology != T2MTLS {
			continue
		}
		for _, s := range r.Summary {
			if s.Topology != T2 || s.Payload != m.Payload || s.Point != m.Point {
				continue
			}
			var a, b float64
			for i := range min(len(m.Procs), len(s.Procs)) {
				a, b = a+m.Procs[i].CPUPerRequest, b+s.Procs[i].CPUPerRequest
			}
			parts = append(parts, fmt.Sprintf("%d B %s: CPU %.1f vs %.1f µs/req, p99 %.1f vs %.1f µs, %.0f vs %.0f req/s",
				m.Payload, m.Point, a, b, m.Latency.P99, s.Latency.P99, m.Throughput, s.Throughput))
		}
	}
	if len(parts) > 0 {
		t.Status, t.Measured = "measured", strings.Join(parts, "; ")
	}
	out = append(out, t)
	return out
}

// targetGovernedCPU bounds what governance with nothing triggering may add
// to T2's sidecar CPU per request.
const targetGovernedCPU = 1.10

// throughputRatio describes s's throughput against the baseline's.
func (r *Report) throughputRatio(s Summary) string {
	return fmt.Sprintf("%.2fx at %d B, %s (%.0f vs %.0f req/s)", s.ThroughputRatio, s.Payload, s.Point,
		s.Throughput, r.baselineThroughput(s))
}

// addedP99 describes the latency s adds at p99 to the baseline's. The added
// figure is the median of the per-repetition differences, so it is shown
// beside both medians it does not derive from, each named by its topology.
func (r *Report) addedP99(s Summary) string {
	base := "no baseline run"
	if b, ok := r.baselineSummary(s); ok {
		base = fmt.Sprintf("%s p99 %.1f µs", r.Baseline, b.Latency.P99)
	}
	text := fmt.Sprintf("%+.1f µs, the median of per-repetition differences (%s p99 %.1f µs, %s; medians)", s.Added.P99, s.Topology, s.Latency.P99, base)
	if clean := r.cleanAdded(s); len(clean) > 0 && s.Disturbed > 0 {
		text += fmt.Sprintf("; in the %d repetition(s) where neither run was disturbed: %+.1f µs", len(clean), median(clean))
	}
	return text
}

// reference labels what T2-HAProxy measured for a T2 target, "" for
// nothing.
func reference(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return T2HAProxy + " (reference): " + strings.Join(parts, "; ")
}

// cleanAdded returns the added p99 of the repetitions of s's point where
// neither s's topology nor the baseline was disturbed.
func (r *Report) cleanAdded(s Summary) []float64 {
	var out []float64
	for _, x := range r.Runs {
		if x.Topology != s.Topology || x.Payload != s.Payload || x.Point != s.Point || x.Added == nil || x.Disturbed {
			continue
		}
		for _, b := range r.Runs {
			if b.Topology == r.Baseline && b.Payload == x.Payload && b.Point == x.Point && b.Rep == x.Rep && !b.Disturbed {
				out = append(out, x.Added.P99)
			}
		}
	}
	return out
}

func (r *Report) cpuRange() string {
	var parts []string
	for _, topo := range []string{T1, T2} {
		lo, hi := -1.0, -1.0
		for _, s := range r.Summary {
			if s.Topology != topo {
				continue
			}
			for _, p := range s.Procs {
				if lo < 0 || p.CPUPerRequest < lo {
					lo = p.CPUPerRequest
				}
				hi = max(hi, p.CPUPerRequest)
			}
		}
		if lo >= 0 {
			parts = append(parts, fmt.Sprintf("%s per hop %.1f-%.1f µs", topo, lo, hi))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *Report) baselineThroughput(s Summary) float64 {
	b, _ := r.baselineSummary(s)
	return b.Throughput
}

// baselineSummary is the baseline's summary at s's point and payload.
func (r *Report) baselineSummary(s Summary) (Summary, bool) {
	for _, b := range r.Summary {
		if b.Topology == r.Baseline && b.Payload == s.Payload && b.Point == s.Point {
			return b, true
		}
	}
	return Summary{}, false
}

func status(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// WriteJSON writes the whole report.
func (r *Report) WriteJSON(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}
