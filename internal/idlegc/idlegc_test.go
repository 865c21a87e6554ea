package idlegc

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestDueWithTheCollectorOff(t *testing.T) {
	const quiet, min = 1 << 20, 128 << 20
	var g decider
	steps := []struct {
		allocated, cycles uint64
		want              bool
		why               string
	}{
		{10 << 20, 0, false, "the first tick only records"},
		{300 << 20, 0, false, "busy: 290 MiB in a tick"},
		{300<<20 + 512<<10, 0, true, "quiet, 290 MiB since the start"},
		{301 << 20, 1, false, "the cycle it asked for is recorded"},
		{301<<20 + 100, 1, false, "quiet, but nothing to collect"},
		{340 << 20, 1, false, "a push: busy"},
		{340<<20 + 100, 1, false, "quiet after the push: 39 MiB since the cycle, under the minimum"},
		{600 << 20, 1, false, "busy again"},
		{600<<20 + 100, 1, true, "quiet, 299 MiB since the cycle"},
		{900 << 20, 2, false, "a cycle at the memory limit resets the count"},
		{900<<20 + 100, 2, false, "quiet, nothing since that cycle"},
	}
	for i, s := range steps {
		if got := g.due(s.allocated, s.cycles, 0, quiet, min); got != s.want {
			t.Fatalf("step %d (%s): due = %v, want %v", i, s.why, got, s.want)
		}
	}
}

func TestDueWithThePacer(t *testing.T) {
	const quiet, min = 1 << 20, 16 << 20
	var g decider
	steps := []struct {
		allocated, cycles, headroom uint64
		want                        bool
		why                         string
	}{
		{0, 1, 200 << 20, false, "the first tick records the pacer's headroom, 200 MiB"},
		{90 << 20, 1, 200 << 20, false, "busy: 90 MiB in a tick"},
		{90<<20 + 100, 1, 200 << 20, false, "quiet, but 90 MiB is under half the headroom"},
		{101 << 20, 1, 200 << 20, false, "busy: 11 MiB in a tick"},
		{101<<20 + 100, 1, 200 << 20, true, "quiet, past half the headroom"},
		{102 << 20, 2, 40 << 20, false, "the cycle is recorded, with a smaller headroom"},
		{112<<20 + 100, 2, 40 << 20, false, "10 MiB since: past half the headroom, under the minimum"},
		{112<<20 + 200, 2, 40 << 20, false, "quiet, still under the minimum"},
		{125 << 20, 2, 40 << 20, false, "busy: 13 MiB in a tick"},
		{125<<20 + 100, 2, 40 << 20, true, "quiet, 23 MiB since: over the minimum and half the headroom"},
		{300 << 20, 3, 40 << 20, false, "the pacer's own cycle resets the count"},
	}
	for i, s := range steps {
		if got := g.due(s.allocated, s.cycles, s.headroom, quiet, min); got != s.want {
			t.Fatalf("step %d (%s): due = %v, want %v", i, s.why, got, s.want)
		}
	}
}

// TestRunCollectsWhenQuiet runs Run on this process with the collector
// off: after 64 MiB of garbage (over the 32 MiB minimum) and then quiet, a
// cycle comes, from Run (the pacer runs none).
func TestRunCollectsWhenQuiet(t *testing.T) {
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { Run(ctx, 20*time.Millisecond, 1<<20, 32<<20); close(done) }()
	time.Sleep(50 * time.Millisecond) // Run's first tick records the cycle count
	var sink [][]byte
	for range 64 {
		sink = append(sink, make([]byte, 1<<20))
	}
	if len(sink) != 64 {
		t.Fatal("allocation")
	}
	sink = nil
	deadline := time.Now().Add(30 * time.Second)
	for {
		runtime.ReadMemStats(&ms)
		if ms.NumGC > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no cycle within 30 s of going quiet")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
