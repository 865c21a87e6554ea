package idlegc

import (
	"context"
	"runtime"
	"runtime/metrics"
	"time"
)

// Run collects, at most once per tick, when the process allocated less
// than quietBytes in the last tick and enough since the last cycle:
//
//   - with the collector off (GOGC=off), more than minBytes, so that the
//     pages of its garbage are reused;
//   - with it on, more than minBytes and more than half of the headroom
//     the pacer allowed at the last cycle (its heap goal less the live
//     heap), so that the pacer's own cycle, due at the whole headroom,
//     comes in a quiet moment ahead of the next burst instead of in it.
//     The cost: at most twice the idle cycles the pacer would run.
//
// It returns when ctx ends.
func Run(ctx context.Context, tick time.Duration, quietBytes, minBytes uint64) {
	t := time.NewTicker(tick)
	defer t.Stop()
	var g decider
	sample := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/gogc:percent"}, // -1 (as a uint64) when off
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		var headroom uint64
		if int64(sample[4].Value.Uint64()) >= 0 { // the pacer is on
			goal, live := sample[2].Value.Uint64(), sample[3].Value.Uint64()
			headroom = 1 // on, with nothing known: minBytes decides
			if goal > live {
				headroom = goal - live
			}
		}
		if g.due(sample[0].Value.Uint64(), sample[1].Value.Uint64(), headroom, quietBytes, minBytes) {
			runtime.GC()
		}
	}
}

// decider is Run's decision, apart from the clock and the runtime.
type decider struct {
	last      uint64 // bytes allocated at the last tick
	atCycle   uint64 // bytes allocated when a cycle was last seen to end
	headroom  uint64 // the pacer's headroom after that cycle (0: collector off)
	cycles    uint64
	seenFirst bool
}

// due reports whether to collect now, given the bytes allocated in the
// process's life, the cycles completed and the pacer's headroom (0 with
// the collector off).
func (g *decider) due(allocated, cycles, headroom, quietBytes, minBytes uint64) bool {
	if !g.seenFirst || cycles != g.cycles { // a cycle ran (ours, the pacer's, or at the memory limit)
		g.seenFirst, g.cycles, g.atCycle, g.last, g.headroom = true, cycles, allocated, allocated, headroom
		return false
	}
	quiet := allocated-g.last < quietBytes
	g.last = allocated
	since := allocated - g.atCycle
	if !quiet || since <= minBytes || g.headroom > 0 && since <= g.headroom/2 {
		return false
	}
	g.atCycle = allocated
	return true
}
