package mocksidecar

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// CollectWhenIdle runs the garbage collector once the process has gone
// quiet after allocating a lot, when the collector is otherwise off
// (GOGC=off, as the scale runs set it: a cycle that marks thousands of
// sidecars' state must not fall into a push). Without it such a process
// never reuses memory: every allocation takes fresh pages, and the kernel
// faults and zeroes each one inside the push it is measured in (a tenth of
// the simulated sidecars' CPU in a 50,000-sidecar push). Collected while
// idle, after the ramp, the pages of its garbage are reused instead.
//
// Every tick it reads the bytes allocated; when less than quietBytes were
// allocated in the last tick and more than minBytes since the last cycle,
// it collects. It returns at once when the collector is on (GOGC is not
// off), else when ctx ends.
func CollectWhenIdle(ctx context.Context, tick time.Duration, quietBytes, minBytes uint64) {
	if old := debug.SetGCPercent(-1); old >= 0 { // on: leave it to the pacer
		debug.SetGCPercent(old)
		return
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var g idleGC
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if g.due(sample[0].Value.Uint64(), sample[1].Value.Uint64(), quietBytes, minBytes) {
			runtime.GC()
		}
	}
}

// idleGC is CollectWhenIdle's decision, apart from the clock and the
// runtime.
type idleGC struct {
	last      uint64 // bytes allocated at the last tick
	atCycle   uint64 // bytes allocated when a cycle was last seen to end
	cycles    uint64
	seenFirst bool
}

// due reports whether to collect now, given the bytes allocated in the
// process's life and the cycles completed.
func (g *idleGC) due(allocated, cycles, quietBytes, minBytes uint64) bool {
	if !g.seenFirst || cycles != g.cycles { // a cycle ran (ours, or at the memory limit)
		g.seenFirst, g.cycles, g.atCycle, g.last = true, cycles, allocated, allocated
		return false
	}
	quiet := allocated-g.last < quietBytes
	g.last = allocated
	if quiet && allocated-g.atCycle > minBytes {
		g.atCycle = allocated
		return true
	}
	return false
}
