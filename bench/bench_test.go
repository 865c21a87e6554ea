package bench

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/octomesh/octomesh/internal/proc"
)

func TestOpenLoop(t *testing.T) {
	path := startServer(t)
	var marks []string
	var counts []int64
	res, err := RunLoad(context.Background(), LoadConfig{
		Target: "unix://" + path, Payload: 128, Rate: 2000, Connections: 4,
		Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond,
		Mark: func(name string, n int64) { marks, counts = append(marks, name), append(counts, n) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The syscall window (second half of the warmup), then the measured one.
	if strings.Join(marks, ",") != "count,measure,end" || !slices.IsSorted(counts) || counts[1] == 0 {
		t.Errorf("marks %v at responses %v", marks, counts)
	}
	// 2000/s for 0.5s: exactly 1000 requests were scheduled in the window.
	// The rate achieved depends on the machine (a busy one answers them
	// late); never more than the rate offered does not.
	if res.Errors != 0 || res.Measured != 1000 || res.Throughput <= 0 || res.Throughput > 1.5*2000 {
		t.Fatalf("errors %v, measured %d, throughput %.0f", res.ErrorKinds, res.Measured, res.Throughput)
	}
	l := res.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Fatalf("latency %+v", l)
	}
	h, err := hdr.Decode([]byte(res.Histogram))
	if err != nil || h.TotalCount() != res.Measured {
		t.Fatalf("histogram: %v, %d values", err, h.TotalCount())
	}
	if res.SendLag == nil || res.FrameBytes <= 128 {
		t.Fatalf("send lag %v, frame %d bytes", res.SendLag, res.FrameBytes)
	}
}

func TestOpenLoopMaxRequests(t *testing.T) {
	path := startServer(t)
	res, err := RunLoad(context.Background(), LoadConfig{
		Target: "unix://" + path, Payload: 16, Rate: 5000, Connections: 2,
		Duration: 10 * time.Second, MaxRequests: 500,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The window shrinks to fit 500 requests at 5000/s: 0.1s.
	if res.Measured != 500 || res.Window > 0.2 || res.Errors != 0 {
		t.Fatalf("measured %d in %.2fs, errors %v", res.Measured, res.Window, res.ErrorKinds)
	}
}

func TestClosedLoop(t *testing.T) {
	path := startServer(t)
	res, err := RunLoad(context.Background(), LoadConfig{
		Target: "unix://" + path, Payload: 1024, Callers: 8,
		Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond, MaxRequests: 1_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Measured < 100 || res.Throughput < 100 || res.Connections != 8 || res.SendLag != nil {
		t.Fatalf("errors %v, measured %d, throughput %.0f", res.ErrorKinds, res.Measured, res.Throughput)
	}
}

func TestLoadErrors(t *testing.T) {
	// Nothing listens: the dial fails and says so.
	_, err := RunLoad(context.Background(), LoadConfig{Target: "unix:///nonexistent/x.sock", Rate: 10, Connections: 1, Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "connection 1 of 1") {
		t.Fatalf("err = %v", err)
	}
	for _, cfg := range []LoadConfig{
		{Target: "tcp://10.0.0.1:80", Rate: 10, Connections: 1, Duration: time.Second},
		{Target: "unix:///x", Rate: 10, Callers: 2, Connections: 1, Duration: time.Second},
		{Target: "/x", Rate: 10, Connections: 1, Duration: time.Second},
	} {
		if _, err := RunLoad(context.Background(), cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestUpdateMarkdown(t *testing.T) {
	file := filepath.Join(t.TempDir(), "performance.md")
	if err := UpdateMarkdown(file, "first"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(b), "# Performance") || !strings.Contains(string(b), "first") {
		t.Fatalf("new file:\n%s", b)
	}
	os.WriteFile(file, []byte("# Perf\n\nintro\n\n"+MarkdownBegin+"\nold\n"+MarkdownEnd+"\n\nafter\n"), 0o644)
	if err := UpdateMarkdown(file, "second"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(file)
	want := "# Perf\n\nintro\n\n" + MarkdownBegin + "\n\nsecond\n\n" + MarkdownEnd + "\n\nafter\n"
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	os.WriteFile(file, []byte("text only\n"), 0o644)
	UpdateMarkdown(file, "third")
	if b, _ = os.ReadFile(file); !strings.HasPrefix(string(b), "text only\n\n"+MarkdownBegin) {
		t.Fatalf("appended:\n%s", b)
	}
	os.WriteFile(file, []byte(MarkdownBegin+"\nno end\n"), 0o644)
	if err := UpdateMarkdown(file, "x"); err == nil {
		t.Fatal("a file with one marker was rewritten")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestQuick runs the mesh for real, every process separate: T0-UDS, T1 and
// T2 (and T1-HAProxy and T2-HAProxy when haproxy is on the PATH: the test
// installs nothing; without it they skip, saying so, except in CI
// (CI=true), which installs it and where they fail), one second per run,
// and checks the report. It is the benchmark's CI test.
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sidecar processes for about 20s")
	}
	dir := t.TempDir()
	bin, err := proc.BuildForSpeed(dir) // it measures the sidecar: no race detector
	if err != nil {
		t.Fatal(err)
	}
	cfg := QuickMatrix()
	cfg.Binary = bin
	cfg.Topologies = []string{T0UDS, T1, T2, T2MTLS, T2Governed, T1HAProxy, T2HAProxy}
	cfg.Payloads = []int{1024}
	cfg.Rates = []float64{2000}
	cfg.Closed = []int{8}
	cfg.InstallHAProxy = false // tests install nothing: .ci/run installs haproxy
	cfg.Command = "go test ./bench -run TestQuick"
	var log strings.Builder
	cfg.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}

	if rep.Baseline != T0UDS {
		t.Errorf("baseline %q", rep.Baseline)
	}
	runs := map[string]int{}
	counted, roleSeen := map[string]bool{}, map[string]bool{}
	for _, r := range rep.Runs {
		runs[r.Topology]++
		name := fmt.Sprintf("%s %s", r.Topology, r.Point)
		if r.Errors != 0 {
			t.Errorf("%s: errors %v", name, r.ErrorKinds)
		}
		l := r.Latency
		if !(l.P50 > 0 && l.P50 <= l.P99 && l.P99 <= l.Max && l.Max < 10e6) {
			t.Errorf("%s: latency %+v", name, l)
		}
		// How much a run achieves depends on the machine (a busy one
		// falls behind the offered rate); that it answered, and never
		// more than was offered, does not.
		if r.Responses <= 0 || r.Throughput <= 0 {
			t.Errorf("%s: %d responses, throughput %.0f", name, r.Responses, r.Throughput)
		}
		if r.Mode == "open" && r.Throughput > 1.5*r.Rate {
			t.Errorf("%s: throughput %.0f at %.0f req/s offered: more answers than requests", name, r.Throughput, r.Rate)
		}
		if r.LoadCPU <= 0 || r.ServerCPU < 0 {
			t.Errorf("%s: load generator %.2f cores, server %.2f", name, r.LoadCPU, r.ServerCPU)
		}
		if r.Topology != T0UDS && r.Added == nil {
			t.Errorf("%s: nothing compared with T0", name)
		}
		var roles []string
		for _, p := range r.Procs {
			roles = append(roles, p.Role)
		}
		want := map[string]string{T0UDS: "", T1: "sidecar", T2: "sidecar-A sidecar-B", T2MTLS: "sidecar-A sidecar-B", T2Governed: "sidecar-A sidecar-B",
			T1HAProxy: "haproxy", T2HAProxy: "haproxy-A haproxy-B"}[r.Topology]
		if got := strings.Join(roles, " "); got != want {
			t.Errorf("%s: proxies measured %q, want %q", name, got, want)
		}
		for _, p := range r.Procs {
			// 10 ms ticks over a one-second window: CPU may round to 0.
			// A stalled machine can leave a run's syscall window without a
			// response (the bench says so): 0 then, but some run of each
			// role must have counted them.
			if p.CPUPerRequest < 0 || p.CPUPerRequest > 5000 || p.RSSMiB < 1 || p.RSSMiB > 1024 ||
				p.SyscallsPerRequest < 0 || p.SyscallsPerRequest > 1000 {
				t.Errorf("%s %s: %+v", name, p.Role, p)
			}
			if p.SyscallsPerRequest > 0 {
				counted[r.Topology+" "+p.Role] = true
			}
			roleSeen[r.Topology+" "+p.Role] = true
			if rep.Pinning.Enabled && !strings.HasPrefix(p.CPUs, fmt.Sprintf("CPU %d,", rep.Pinning.ProxyCPU)) {
				t.Errorf("%s %s runs on %s, want CPU %d", name, p.Role, p.CPUs, rep.Pinning.ProxyCPU)
			}
			if err := syscall.Kill(p.PID, 0); err == nil {
				t.Errorf("%s %s (pid %d) still runs after Run", name, p.Role, p.PID)
			}
		}
	}
	for role := range roleSeen {
		if !counted[role] {
			t.Errorf("%s: no run counted its syscalls", role)
		}
	}
	for _, topo := range []string{T0UDS, T1, T2, T2Governed} {
		if runs[topo] != 2 {
			t.Errorf("%s ran %d times, want 2", topo, runs[topo])
		}
	}
	if len(rep.Summary) != len(rep.Runs) || len(rep.Targets) != 6 {
		t.Errorf("%d summaries of %d runs, %d targets", len(rep.Summary), len(rep.Runs), len(rep.Targets))
	} else if mtls := rep.Targets[5]; mtls.Status != "measured" || !strings.Contains(mtls.Measured, "1024 B closed 8: CPU") {
		t.Errorf("T2-mTLS against T2: %+v", mtls)
	}

	// The three outputs, and the report read back from its JSON.
	if err := rep.WriteJSON(filepath.Join(dir, "r.json")); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := rep.Markdown("r.png"), back.Markdown("r.png"); a != b {
		t.Errorf("the report read back renders differently:\n%s\n---\n%s", a, b)
	}
	plot := filepath.Join(dir, "r.png")
	if err := rep.WritePlot(plot); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 400 {
		t.Fatalf("plot: %v", err)
	}
	md := rep.Markdown("r.png")
	for _, want := range []string{"### 1 KiB payload", "| T2 | 2k req/s |", "| T1 | closed 8 |", "### Targets", "![latency by percentile](r.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	for _, topo := range []string{T1HAProxy, T2HAProxy} {
		t.Run(topo, func(t *testing.T) {
			if why, skipped := rep.Skipped[topo]; skipped {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s not run in CI, which installs haproxy: %s", topo, why)
				}
				t.Skipf("%s not run: %s (apt-get install haproxy, or bench/install-haproxy.sh, runs it)", topo, why)
			}
			if runs[topo] != 2 {
				t.Errorf("%s ran %d times, want 2", topo, runs[topo])
			}
			if want := "| " + topo + " | closed 8 |"; !strings.Contains(md, want) {
				t.Errorf("markdown lacks %q:\n%s", want, md)
			}
		})
	}
	if _, skipped := rep.Skipped[T2HAProxy]; !skipped && !strings.HasPrefix(rep.Targets[1].Reference, "T2-HAProxy (reference): ") {
		t.Errorf("the T2 throughput target has no T2-HAProxy reference: %+v", rep.Targets[1])
	}
}

// The T2 targets carry what T2-HAProxy reached as a reference, which does
// not change their status.
func TestTargetReferences(t *testing.T) {
	added := func(p99 float64) *Percentiles { return &Percentiles{P99: p99} }
	r := &Report{Baseline: T0UDS, Summary: []Summary{
		{Topology: T0UDS, Point: "5k req/s", Payload: 1024, Mode: "open", Rate: 5000, Latency: Percentiles{P99: 95}},
		{Topology: T2, Point: "5k req/s", Payload: 1024, Mode: "open", Rate: 5000, Latency: Percentiles{P99: 150}, Added: added(50)},
		{Topology: T2HAProxy, Point: "5k req/s", Payload: 1024, Mode: "open", Rate: 5000, Latency: Percentiles{P99: 400}, Added: added(300)},
		{Topology: T0UDS, Point: "closed 50", Payload: 1024, Mode: "closed", Throughput: 1000},
		{Topology: T2, Point: "closed 50", Payload: 1024, Mode: "closed", Throughput: 900, ThroughputRatio: 0.9, Added: added(0)},
		{Topology: T2HAProxy, Point: "closed 50", Payload: 1024, Mode: "closed", Throughput: 460, ThroughputRatio: 0.46, Added: added(0)},
	}}
	got := r.checkTargets()
	for i, want := range []Target{
		{Status: "met", Measured: "0.90x at 1024 B, closed 50 (900 vs 1000 req/s)",
			Reference: "T2-HAProxy (reference): 0.46x at 1024 B, closed 50 (460 vs 1000 req/s)"},
		{Status: "met", Measured: "+50.0 µs, the median of per-repetition differences (T2 p99 150.0 µs, T0-UDS p99 95.0 µs; medians)",
			Reference: "T2-HAProxy (reference): +300.0 µs, the median of per-repetition differences (T2-HAProxy p99 400.0 µs, T0-UDS p99 95.0 µs; medians)"},
	} {
		g := got[i+1]
		if g.Status != want.Status || g.Measured != want.Measured || g.Reference != want.Reference {
			t.Errorf("target %q:\n got %+v\nwant %+v", g.Target, g, want)
		}
	}
	md := (&Report{Targets: got}).Markdown("")
	if want := "| | | T2-HAProxy (reference): 0.46x"; !strings.Contains(md, want) {
		t.Errorf("markdown lacks %q:\n%s", want, md)
	}
}

// A report read back from JSON written by hand may lack its payload list:
// Markdown renders the rest (it panicked on slices.Max of nothing).
func TestMarkdownOfAReportWithoutPayloads(t *testing.T) {
	rep := &Report{Command: "octomesh bench", Summary: []Summary{{Topology: "T0-UDS", Throughput: 1000}}}
	if md := rep.Markdown(""); !strings.Contains(md, "Generated by `octomesh bench`") {
		t.Fatalf("no header:\n%s", md)
	}
}

func TestConfigNeedsAWarmupToCountSyscallsIn(t *testing.T) {
	cfg := QuickMatrix()
	cfg.Binary = "octomesh"
	if err := cfg.check(); err != nil {
		t.Fatalf("quick matrix: %v", err)
	}
	cfg.Warmup = 0
	if err := cfg.check(); err == nil || !strings.Contains(err.Error(), "warmup 0s is too short") {
		t.Fatalf("warmup 0: %v", err)
	}
}

// Every row of the syscall table has as many cells as its header, also
// when perf counted only the total (no per-call tracepoints: every call is
// "other", so there are no per-call columns at all).
func TestSyscallTableCells(t *testing.T) {
	for _, by := range []map[string]float64{{"other": 4}, {"read": 1, "write": 2, "other": 1}} {
		r := &Report{Summary: []Summary{{Topology: T2, Point: "1k req/s", Payload: 1024,
			Procs: []ProcSummary{{Role: "sidecar-A", SyscallsPerRequest: 4, Syscalls: by}}}}}
		var b strings.Builder
		r.syscallTable(&b, 1024)
		var cells []int
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(line, "|") {
				cells = append(cells, strings.Count(line, "|")-1)
			}
		}
		if len(cells) != 3 {
			t.Fatalf("%v: want a header, a rule and one row, got:\n%s", by, b.String())
		}
		if cells[0] != cells[1] || cells[0] != cells[2] || cells[0] != 6+len(by)-1 {
			t.Errorf("%v: cells per line %v (header, rule, row), want %d each:\n%s", by, cells, 6+len(by)-1, b.String())
		}
	}
}
