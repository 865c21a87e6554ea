package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// RealAppGoal is the throughput through the mesh, as a share of direct,
// that issue 21 asks of the real-app mode on a 2-core machine.
const RealAppGoal = 0.75

// clientResult is the JSON line `echo-client -json` prints
// (examples/echo.LoadResult; durations in nanoseconds). bench reads it as
// bytes: it does not link the example.
type clientResult struct {
	Wanted    int            `json:"wanted"`
	Sent      int            `json:"sent"`
	Errors    int            `json:"errors"`
	Mismatch  int            `json:"mismatch"`
	FirstFail string         `json:"first_fail"`
	Elapsed   int64          `json:"elapsed_ns"`
	Servers   map[string]int `json:"servers"`
	P50       int64          `json:"p50_ns"`
	P90       int64          `json:"p90_ns"`
	P99       int64          `json:"p99_ns"`
	P999      int64          `json:"p999_ns"`
	Max       int64          `json:"max_ns"`
}

// ok is the requests answered correctly.
func (r clientResult) ok() int { return r.Sent - r.Errors - r.Mismatch }

// parseClientResult reads the last non-empty line of the client's output.
func parseClientResult(out []byte) (clientResult, error) {
	var r clientResult
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	last := bytes.TrimSpace(lines[len(lines)-1])
	if len(last) == 0 {
		return r, errors.New("printed no result")
	}
	dec := json.NewDecoder(bytes.NewReader(last))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("result %q: %v", truncate(string(last), 200), err)
	}
	switch {
	case r.Elapsed <= 0:
		return r, fmt.Errorf("result %q: no elapsed time", truncate(string(last), 200))
	case r.Sent < 0 || r.Errors < 0 || r.Mismatch < 0 || r.ok() < 0:
		return r, fmt.Errorf("result %q: negative counts", truncate(string(last), 200))
	case !(r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.P999 && r.P999 <= r.Max):
		return r, fmt.Errorf("result %q: percentiles out of order", truncate(string(last), 200))
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// RealAppRun is one measured client run, direct or through the mesh.
// Latencies are in µs; CPU in µs per correctly answered request.
type RealAppRun struct {
	Mode       string  `json:"mode"`
	Repetition int     `json:"repetition"`
	Requests   int     `json:"requests"` // answered correctly
	Errors     int     `json:"errors"`
	Elapsed    float64 `json:"elapsed_s"` // the client's, first call to last answer
	Window     float64 `json:"window_s"`  // between the /proc samples: the client process's life
	Throughput float64 `json:"throughput_rps"`
	P50        float64 `json:"p50_us"`
	P99        float64 `json:"p99_us"`
	P999       float64 `json:"p999_us"`
	Max        float64 `json:"max_us"`
	// ClientCPU is the client process's whole life (wait4's rusage);
	// ServerCPU and the sidecars' from /proc/PID/stat around it.
	ClientCPU   float64 `json:"client_cpu_us_per_req"`
	ServerCPU   float64 `json:"server_cpu_us_per_req"`
	SidecarACPU float64 `json:"sidecar_a_cpu_us_per_req,omitempty"`
	SidecarBCPU float64 `json:"sidecar_b_cpu_us_per_req,omitempty"`
	// MachineBusy is the share of all CPUs busy in the window, in %;
	// Others the share busy with processes other than the run's.
	MachineBusy float64 `json:"machine_busy_pct"`
	Others      float64 `json:"others_pct"`
}

// fill computes a run from the client's result, its CPU, the window, the
// CPU ticks of the server (then sidecar A and B, in the mesh) and the
// machine's busy and total ticks over the window.
func (r *RealAppRun) fill(res clientResult, clientCPU, window time.Duration, ticks []uint64, busy, total uint64) {
	n := res.ok()
	r.Requests, r.Errors = n, res.Errors+res.Mismatch
	r.Elapsed = round2(float64(res.Elapsed) / 1e9)
	r.Window = round2(window.Seconds())
	if res.Elapsed > 0 {
		r.Throughput = round2(float64(n) / (float64(res.Elapsed) / 1e9))
	}
	us := func(ns int64) float64 { return round2(float64(ns) / 1e3) }
	r.P50, r.P99, r.P999, r.Max = us(res.P50), us(res.P99), us(res.P999), us(res.Max)
	perReq := func(d time.Duration) float64 {
		if n == 0 {
			return 0
		}
		return round2(float64(d.Microseconds()) / float64(n))
	}
	tickDur := func(t uint64) time.Duration { return time.Duration(t) * time.Second / clockTicks }
	r.ClientCPU = perReq(clientCPU)
	ours := clientCPU
	for i, t := range ticks {
		d := tickDur(t)
		ours += d
		switch i {
		case 0:
			r.ServerCPU = perReq(d)
		case 1:
			r.SidecarACPU = perReq(d)
		case 2:
			r.SidecarBCPU = perReq(d)
		}
	}
	if total > 0 {
		r.MachineBusy = round2(100 * float64(busy) / float64(total))
		// total counts every CPU's ticks: ours, in ticks of all CPUs.
		others := float64(busy) - ours.Seconds()*clockTicks
		r.Others = round2(max(0, 100*others/float64(total)))
	}
}

// RealAppReport is a real-app run: every measured run and the medians.
type RealAppReport struct {
	Command     string       `json:"command"`
	Started     time.Time    `json:"started"`
	Elapsed     string       `json:"elapsed"`
	Host        Host         `json:"host"`
	Callers     int          `json:"callers"`
	Payload     int          `json:"payload_bytes"`
	Warmup      string       `json:"warmup"`
	Duration    string       `json:"duration"`
	Repetitions int          `json:"repetitions"`
	Runs        []RealAppRun `json:"runs"`

	Direct, Mesh RealAppMedians `json:"-"`
	// Ratios are mesh/direct throughput per repetition, AddedP99 mesh p99
	// minus direct p99 per repetition (µs).
	Ratios   []float64 `json:"ratios"`
	AddedP99 []float64 `json:"added_p99_us"`
}

// RealAppMedians are one mode's medians over the repetitions.
type RealAppMedians struct {
	Throughput, P50, P99                           float64
	ClientCPU, ServerCPU, SidecarACPU, SidecarBCPU float64
	Others                                         float64
}

// summarize computes the medians and the per-repetition comparisons. A
// repetition compares the direct and mesh runs of the same number.
func (r *RealAppReport) summarize() {
	by := map[string]map[int]RealAppRun{RealAppDirect: {}, RealAppMesh: {}}
	for _, run := range r.Runs {
		if m, ok := by[run.Mode]; ok {
			m[run.Repetition] = run
		}
	}
	med := func(mode string) RealAppMedians {
		var v [8][]float64
		for _, run := range r.Runs {
			if run.Mode != mode {
				continue
			}
			for i, x := range []float64{run.Throughput, run.P50, run.P99, run.ClientCPU, run.ServerCPU, run.SidecarACPU, run.SidecarBCPU, run.Others} {
				v[i] = append(v[i], x)
			}
		}
		return RealAppMedians{median(v[0]), median(v[1]), median(v[2]), median(v[3]), median(v[4]), median(v[5]), median(v[6]), median(v[7])}
	}
	r.Direct, r.Mesh = med(RealAppDirect), med(RealAppMesh)
	r.Ratios, r.AddedP99 = nil, nil
	for i := 1; i <= r.Repetitions; i++ {
		d, okd := by[RealAppDirect][i]
		m, okm := by[RealAppMesh][i]
		if !okd || !okm || d.Throughput <= 0 {
			continue
		}
		r.Ratios = append(r.Ratios, round2(m.Throughput/d.Throughput))
		r.AddedP99 = append(r.AddedP99, round2(m.P99-d.P99))
	}
}

// Ratio is the median of the per-repetition throughput ratios.
func (r *RealAppReport) Ratio() float64 { return median(r.Ratios) }

// ReadRealAppReport reads a report written by WriteJSON.
func ReadRealAppReport(file string) (*RealAppReport, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r RealAppReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	r.summarize()
	return &r, nil
}

// WriteJSON writes the report.
func (r *RealAppReport) WriteJSON(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// Markdown renders the report as tables for docs/performance.md.
func (r *RealAppReport) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("`%s`: examples/echo's Kitex client (`echo-client -n 0 -c %d -size %d`, closed loop) and server, "+
		"unpinned, direct (client -UDS-> server) and through two sidecars (client -UDS-> sidecar A -TCP-> sidecar B -UDS-> server, "+
		"examples/echo's sidecar configs, `octomesh-proxy`). Each repetition runs direct then mesh, each with a fresh server "+
		"(and sidecars), a %s warmup client run, then a %s measured client run.\n\n",
		r.Command, r.Callers, r.Payload, r.Warmup, r.Duration)
	w("Machine: %d CPUs", r.Host.CPUs)
	if r.Host.CPUModel != "" {
		w(" (%s)", r.Host.CPUModel)
	}
	w(", Linux %s, %s. %d repetitions, medians; %s in all.\n\n", r.Host.Kernel, r.Host.GoVersion, r.Repetitions, r.Elapsed)

	d, m := r.Direct, r.Mesh
	ratio := func(a, b float64) string {
		if a <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2fx", b/a)
	}
	w("| median | direct | mesh | mesh vs direct |\n|---|---:|---:|---:|\n")
	w("| req/s | %.0f | %.0f | **%.2fx** (median of the repetitions' ratios; %s of the medians) |\n",
		d.Throughput, m.Throughput, r.Ratio(), ratio(d.Throughput, m.Throughput))
	w("| p50 µs | %.0f | %.0f | %+.0f |\n", d.P50, m.P50, m.P50-d.P50)
	w("| p99 µs | %.0f | %.0f | %+.0f (median of the repetitions' differences) |\n", d.P99, m.P99, median(r.AddedP99))
	w("| client app CPU µs/req | %.1f | %.1f | %s |\n", d.ClientCPU, m.ClientCPU, ratio(d.ClientCPU, m.ClientCPU))
	w("| server app CPU µs/req | %.1f | %.1f | %s |\n", d.ServerCPU, m.ServerCPU, ratio(d.ServerCPU, m.ServerCPU))
	w("| sidecar A CPU µs/req | – | %.1f | |\n", m.SidecarACPU)
	w("| sidecar B CPU µs/req | – | %.1f | |\n", m.SidecarBCPU)
	dAll, mAll := d.ClientCPU+d.ServerCPU, m.ClientCPU+m.ServerCPU+m.SidecarACPU+m.SidecarBCPU
	w("| all processes (direct 2, mesh 4), CPU µs/req | %.1f | %.1f | %s |\n", dAll, mAll, ratio(dAll, mAll))
	w("| other work on the machine, %% of its CPUs | %.0f | %.0f | |\n\n", d.Others, m.Others)

	w("| repetition | direct req/s | mesh req/s | mesh/direct | direct p99 µs | mesh p99 µs | added p99 µs | " +
		"client µs/req (d/m) | server µs/req (d/m) | sidecar A µs/req | sidecar B µs/req | others %% (d/m) |\n")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	by := map[string]map[int]RealAppRun{RealAppDirect: {}, RealAppMesh: {}}
	for _, run := range r.Runs {
		if mm, ok := by[run.Mode]; ok {
			mm[run.Repetition] = run
		}
	}
	for i := 1; i <= r.Repetitions; i++ {
		dr, okd := by[RealAppDirect][i]
		mr, okm := by[RealAppMesh][i]
		if !okd || !okm {
			continue
		}
		w("| %d | %.0f | %.0f | %s | %.0f | %.0f | %+.0f | %.1f / %.1f | %.1f / %.1f | %.1f | %.1f | %.0f / %.0f |\n",
			i, dr.Throughput, mr.Throughput, ratio(dr.Throughput, mr.Throughput), dr.P99, mr.P99, mr.P99-dr.P99,
			dr.ClientCPU, mr.ClientCPU, dr.ServerCPU, mr.ServerCPU, mr.SidecarACPU, mr.SidecarBCPU, dr.Others, mr.Others)
	}
	verdict := "met"
	if r.Ratio() < RealAppGoal {
		verdict = "**not met**"
	}
	worst := 0.0
	if len(r.Ratios) > 0 {
		worst = r.Ratios[0]
		for _, x := range r.Ratios {
			worst = min(worst, x)
		}
	}
	w("\nGoal: mesh ≥ %.2fx direct: %s (median %.2fx, worst repetition %.2fx).\n", RealAppGoal, verdict, r.Ratio(), worst)
	return b.String()
}
