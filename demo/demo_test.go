package demo

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/proc"
)

func TestDemoRunsAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	bin, err := proc.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// Long enough for echo-2's lease (3s) to lapse a quarter in and expire.
	sum, err := Run(context.Background(), Options{Bin: bin, Out: &out, Duration: 8 * time.Second, Interval: 500 * time.Millisecond, Callers: 4})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	if r := proc.RaceReports(); len(r) > 0 { // the sidecars are race-built under go test -race
		t.Errorf("the race detector reported %d data races in the sidecars; the first:\n%s", len(r), r[0])
	}
	if sum.Requests < 100 || sum.Errors != 0 {
		t.Fatalf("%d requests, %d errors", sum.Requests, sum.Errors)
	}
	// The duration counts from when the mesh is up, however long the
	// start took: the traffic ran all of it.
	if sum.Elapsed < 8*time.Second {
		t.Errorf("traffic ran %v of the 8s asked for", sum.Elapsed)
	}
	// Every request was answered by one server, and nothing else was
	// counted (the servers' readiness checks).
	if h := sum.Handled; h["echo-1"]+h["echo-2"] != sum.Requests || h["echo-1"] == 0 || h["echo-2"] == 0 {
		t.Errorf("%d requests, handled %v", sum.Requests, h)
	}
	if !strings.HasPrefix(out.String(), "starting the mesh:") {
		t.Errorf("the demo does not say at once that it is starting:\n%.200s", out.String())
	}
	lines := regexp.MustCompile(`(?m)^\[\s*[\d.]+s\]\s+\d+ req/s  p50 [\d.]+ms  p90 [\d.]+ms  p99 [\d.]+ms  p99.9 [\d.]+ms  errors 0$`).FindAllString(out.String(), -1)
	if len(lines) < 3 {
		t.Errorf("want at least 3 live report lines, got %d", len(lines))
	}
	for _, want := range []string{
		`(?m)^\[\s*[\d.]+s\] sidecar A's endpoints of echo: echo-1 127\.0\.0\.1:\d+ \(weight 1\), echo-2 127\.0\.0\.1:\d+ \(weight 1\)$`,
		`(?m)^\[\s*[\d.]+s\] echo-2 stops renewing its lease`,
		`(?m)^\[\s*[\d.]+s\] sidecar A's endpoints of echo: echo-1 127\.0\.0\.1:\d+ \(weight 1\)$`,
		`(?m)^\[\s*[\d.]+s\] echo-2's endpoint left [\d.]+s after its lease was last renewed \(TTL 3s\)`,
		`(?m)^\[\s*[\d.]+s\] agent: echo-2's sidecar \(pid \d+\) killed with SIGKILL; its agent started it again in [\d.]+s \(pid \d+, restarts 1\)$`,
		`(?m)^governance from the pilot: echo-client's calls to echo time out after 3s and are retried once`,
		`(?m)^\[\s*[\d.]+s\] fault injection on: 10% of echo-client's calls to echo held 20ms`,
		`(?m)^\[\s*[\d.]+s\] fault injection off$`,
		`(?m)^dispatcher: notices on NATS nats://127\.0\.0\.1:\d+, operator API 127\.0\.0\.1:\d+ \(octomesh ctl --server 127\.0\.0\.1:\d+ --token-file \S+ get all\)`,
		`(?m)^dispatcher: [1-9]\d* rule writes published [1-9]\d* notices; [1-9]\d* forwarded to the pilot, who fetched [1-9]\d* values$`,
		`(?m)^scanner: scanner-1 checks every instance's sidecar and app each 1s`,
		`(?m)^console: http://127\.0\.0\.1:\d+/ \(service graph, services, sidecars, rules, control plane\)$`,
		`(?m)^scanner-1: [1-9]\d* checks, \d+ failed, 0 instances marked down, 0 marked up$`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no line matching %s", want)
		}
	}
	// While the fault is on, a tenth of the calls take 20ms more: some
	// report line between "on" and "off" shows a p90 or p99 of 20ms or more.
	on, off := strings.Index(out.String(), "fault injection on"), strings.Index(out.String(), "fault injection off")
	if on < 0 || off < on {
		t.Fatal("the fault phase did not start and end")
	}
	slow := regexp.MustCompile(`p99 (\d+)\.\d+ms`).FindAllStringSubmatch(out.String()[on:off], -1)
	seen := false
	for _, m := range slow {
		if n, _ := strconv.Atoi(m[1]); n >= 20 {
			seen = true
		}
	}
	if !seen {
		t.Errorf("no report line during the fault phase shows a p99 of 20ms or more:\n%s", out.String()[on:off])
	}
	m := regexp.MustCompile(`configs and sidecar logs in (\S+);`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("demo did not say where its files are")
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("demo left %s behind (%v)", m[1], err)
	}
}
