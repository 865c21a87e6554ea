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
	sum, err := Run(context.Background(), Options{Bin: bin, Out: &out, Duration: 2500 * time.Millisecond, Interval: 500 * time.Millisecond, Callers: 4})
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
	m := regexp.MustCompile(`configs and sidecar logs in (\S+);`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("demo did not say where its files are")
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("demo left %s behind (%v)", m[1], err)
	}
}
