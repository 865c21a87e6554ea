package demo

import (
	"bytes"
	"context"
	"os"
	"regexp"
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
	if sum.Requests < 100 || sum.Errors != 0 {
		t.Fatalf("%d requests, %d errors", sum.Requests, sum.Errors)
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
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("no line matching %s", want)
		}
	}
	m := regexp.MustCompile(`configs and sidecar logs in (\S+);`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("demo did not say where its files are")
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("demo left %s behind (%v)", m[1], err)
	}
}
