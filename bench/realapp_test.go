package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/examples/echo"
)

// The client's JSON is examples/echo.LoadResult's: what the example
// prints, bench reads, field for field.
func TestParseClientResultReadsTheExampleClientsJSON(t *testing.T) {
	want := echo.LoadResult{
		Sent: 1000, Errors: 2, Mismatch: 1, Elapsed: 2 * time.Second, Servers: map[string]int{"s": 997},
		P50: 100 * time.Microsecond, P90: 200 * time.Microsecond, P99: 900 * time.Microsecond,
		P999: 2 * time.Millisecond, Max: 5 * time.Millisecond, FirstFail: "request 7: boom",
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseClientResult(append([]byte("some log line\n"), append(b, '\n')...))
	if err != nil {
		t.Fatal(err)
	}
	if got.Sent != 1000 || got.ok() != 997 || got.Elapsed != int64(2*time.Second) || got.P99 != int64(900*time.Microsecond) ||
		got.Max != int64(5*time.Millisecond) || got.FirstFail != want.FirstFail || got.Servers["s"] != 997 {
		t.Fatalf("parsed %+v from %s", got, b)
	}
}

func TestParseClientResultRejects(t *testing.T) {
	for _, tc := range []struct{ name, out, want string }{
		{"nothing", "", "printed no result"},
		{"the text line", "requests=10 errors=0", "invalid character"},
		{"an unknown field", `{"sent":1,"elapsed_ns":5,"throughput":3}`, "unknown field"},
		{"no elapsed", `{"sent":1}`, "no elapsed time"},
		{"more failures than calls", `{"sent":1,"errors":2,"elapsed_ns":5}`, "negative counts"},
		{"percentiles out of order", `{"sent":1,"elapsed_ns":5,"p50_ns":9,"p90_ns":3,"p99_ns":3,"p999_ns":3,"max_ns":3}`, "out of order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseClientResult([]byte(tc.out))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseMachineCPU(t *testing.T) {
	m, err := parseMachineCPU([]byte("cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\nintr 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	// busy: user, nice, system, irq, softirq, steal...; not idle, iowait.
	if m.busy != 160 || m.total != 1000 {
		t.Fatalf("busy %d, total %d", m.busy, m.total)
	}
	if _, err := parseMachineCPU([]byte("cpu0 1 2 3 4 5\n")); err == nil {
		t.Fatal("no error without the cpu line")
	}
}

func TestRealAppRunFill(t *testing.T) {
	res := clientResult{Sent: 10_010, Errors: 10, Elapsed: int64(2 * time.Second), P50: 1000, P90: 2000, P99: 3_000_000, P999: 4_000_000, Max: 5_000_000}
	var r RealAppRun
	// 10,000 answers; the client used 0.5 s; server 30 ticks (0.3 s), A 20,
	// B 10: 1.1 s of CPU ours; the machine 3 s busy of 4 (its CPUs' ticks).
	r.fill(res, 500*time.Millisecond, 2100*time.Millisecond, []uint64{30, 20, 10}, 300, 400)
	want := RealAppRun{Requests: 10_000, Errors: 10, Elapsed: 2, Window: 2.1, Throughput: 5000, P50: 1, P99: 3000, P999: 4000, Max: 5000,
		ClientCPU: 50, ServerCPU: 30, SidecarACPU: 20, SidecarBCPU: 10, MachineBusy: 75, Others: 47.5}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestRealAppReportSummaryAndMarkdown(t *testing.T) {
	rep := &RealAppReport{Command: "octomesh bench --realapp", Callers: 50, Payload: 128, Warmup: "1s", Duration: "10s", Repetitions: 3}
	for i, p := range []struct{ d, m, dp99, mp99 float64 }{{30000, 24000, 5000, 6000}, {20000, 18000, 7000, 7100}, {30000, 15000, 4000, 9000}} {
		rep.Runs = append(rep.Runs,
			RealAppRun{Mode: RealAppDirect, Repetition: i + 1, Throughput: p.d, P99: p.dp99, ClientCPU: 20, ServerCPU: 20},
			RealAppRun{Mode: RealAppMesh, Repetition: i + 1, Throughput: p.m, P99: p.mp99, ClientCPU: 25, ServerCPU: 22, SidecarACPU: 14, SidecarBCPU: 13})
	}
	rep.summarize()
	// Ratios 0.8, 0.9, 0.5: median 0.8; the ratio of medians is 18000/30000.
	if got := strings.Join(fmtFloats(rep.Ratios), ","); got != "0.8,0.9,0.5" || rep.Ratio() != 0.8 {
		t.Fatalf("ratios %s, median %v", got, rep.Ratio())
	}
	if got := strings.Join(fmtFloats(rep.AddedP99), ","); got != "1000,100,5000" {
		t.Fatalf("added p99 %s", got)
	}
	if rep.Direct.Throughput != 30000 || rep.Mesh.Throughput != 18000 || rep.Mesh.SidecarACPU != 14 || rep.Direct.P99 != 5000 {
		t.Fatalf("medians direct %+v mesh %+v", rep.Direct, rep.Mesh)
	}
	md := rep.Markdown()
	for _, want := range []string{
		"| req/s | 30000 | 18000 | **0.80x** (median of the repetitions' ratios; 0.60x of the medians) |",
		"| p99 µs | 5000 | 7100 | +1000 (median of the repetitions' differences) |",
		"| sidecar A CPU µs/req | – | 14.0 | |",
		"| all processes (direct 2, mesh 4), CPU µs/req | 40.0 | 74.0 | 1.85x |",
		"| 3 | 30000 | 15000 | 0.50x | 4000 | 9000 | +5000 |",
		"Goal: mesh ≥ 0.75x direct: met (median 0.80x, worst repetition 0.50x).",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Every table row has as many cells as its header.
	for _, table := range strings.Split(md, "\n\n") {
		lines := strings.Split(strings.TrimSpace(table), "\n")
		if !strings.HasPrefix(lines[0], "|") {
			continue
		}
		for _, l := range lines[1:] {
			if strings.Count(l, "|") != strings.Count(lines[0], "|") {
				t.Errorf("row %q has other cells than header %q", l, lines[0])
			}
		}
	}

	file := filepath.Join(t.TempDir(), "r.json")
	if err := rep.WriteJSON(file); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRealAppReport(file)
	if err != nil {
		t.Fatal(err)
	}
	if back.Markdown() != md {
		t.Fatalf("rendered again from JSON:\n%s\nwant\n%s", back.Markdown(), md)
	}
}

func fmtFloats(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		b, _ := json.Marshal(x)
		out[i] = string(b)
	}
	return out
}

func TestRealAppConfigErrors(t *testing.T) {
	ok := RealAppConfig{ClientBinary: "c", ServerBinary: "s", ProxyBinary: "p", Callers: 1, Duration: time.Second, Repetitions: 1}
	for _, tc := range []struct {
		name string
		edit func(*RealAppConfig)
		want string
	}{
		{"no client", func(c *RealAppConfig) { c.ClientBinary = "" }, "binaries"},
		{"no callers", func(c *RealAppConfig) { c.Callers = 0 }, "callers = 0"},
		{"no duration", func(c *RealAppConfig) { c.Duration = 0 }, "duration 0s"},
		{"negative warmup", func(c *RealAppConfig) { c.Warmup = -1 }, "warmup"},
		{"no repetitions", func(c *RealAppConfig) { c.Repetitions = 0 }, "repetitions = 0"},
		{"huge payload", func(c *RealAppConfig) { c.Payload = 1 << 30 }, "payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := RunRealApp(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A short real run: the example apps and two sidecars as processes, one
// repetition of a fraction of a second each. The run takes about 3 s;
// building the three binaries with the go command takes 10-30 s more, so
// it runs only when they are given (Bazel gives them) or asked for.
func TestRealAppSmoke(t *testing.T) {
	given := os.Getenv("ECHO_CLIENT_BIN") != "" && os.Getenv("ECHO_SERVER_BIN") != "" && os.Getenv("OCTOMESH_PROXY_BIN") != ""
	if !given && os.Getenv("OCTOMESH_REALAPP_SMOKE") != "1" {
		t.Skip("builds echo-client, echo-server and octomesh-proxy first (10-30 s): run with OCTOMESH_REALAPP_SMOKE=1, " +
			"or give the binaries in $ECHO_CLIENT_BIN, $ECHO_SERVER_BIN and $OCTOMESH_PROXY_BIN")
	}
	if testing.Short() {
		t.Skip("starts the example apps and sidecar processes for a few seconds")
	}
	dir := t.TempDir()
	cfg := RealAppConfig{Callers: 8, Payload: 64, Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond, Repetitions: 1,
		Command: "go test ./bench -run TestRealAppSmoke"}
	if err := BuildRealApp(dir, &cfg); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	cfg.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := RunRealApp(ctx, cfg)
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Mode != RealAppDirect || rep.Runs[1].Mode != RealAppMesh {
		t.Fatalf("runs %+v", rep.Runs)
	}
	for _, r := range rep.Runs {
		if r.Errors != 0 || r.Requests < 50 || r.Throughput <= 0 || !(r.P50 > 0 && r.P50 <= r.P99 && r.P99 <= r.Max) {
			t.Errorf("%s: %+v", r.Mode, r)
		}
		if r.ClientCPU <= 0 || r.Window < 0.5 {
			t.Errorf("%s: client CPU %.1f µs/req, window %.2fs", r.Mode, r.ClientCPU, r.Window)
		}
	}
	if d := rep.Runs[0]; d.SidecarACPU != 0 || d.SidecarBCPU != 0 {
		t.Errorf("direct run has sidecar CPU: %+v", d)
	}
	// The sidecars relayed hundreds of requests: /proc saw them work.
	if m := rep.Runs[1]; m.SidecarACPU+m.SidecarBCPU <= 0 {
		t.Errorf("mesh run without sidecar CPU: %+v", m)
	}
	if len(rep.Ratios) != 1 || rep.Ratios[0] <= 0 || !strings.Contains(rep.Markdown(), "| 1 |") {
		t.Errorf("ratios %v\n%s", rep.Ratios, rep.Markdown())
	}
	os.RemoveAll(dir)
}
