package server

import (
	"runtime"
	"runtime/debug"
	"time"
)

// After a burst of connections closes, the memory they held goes back to
// the operating system within about a slowSweep: a sidecar's memory is
// paid once per instance, and the Go runtime alone would keep it until a
// GC ran (at most every 2 minutes when the sidecar is quiet) and then
// give it back slowly. Like Envoy's shrink_heap overload action, but
// triggered by the connections that held the memory.
const (
	// releaseAfterConns: this many connections fewer than the peak since
	// the last release (or start) trigger a release.
	releaseAfterConns = 256
	// releaseEvery bounds the releases' cost when connections come and
	// go in waves.
	releaseEvery = 10 * time.Second
)

// memoryReleaser watches the open connections and releases memory after a
// burst of them has closed.
type memoryReleaser struct {
	peak, last int
	released   time.Time
	release    func() // freeOSMemory; tests count calls instead
}

// check takes the connections open now; it reports whether it released.
// It waits for the count to stop falling (connections close over a few
// checks), so that one release frees the whole burst.
func (m *memoryReleaser) check(open int, now time.Time) bool {
	falling := open < m.last
	m.last = open
	if open > m.peak {
		m.peak = open
	}
	if falling || m.peak-open < releaseAfterConns || now.Sub(m.released) < releaseEvery {
		return false
	}
	m.release()
	m.peak, m.released = open, now
	return true
}

// freeOSMemory collects twice, so that sync.Pool caches (kept for one GC
// as victims) holding the closed connections' buffers are freed too, then
// returns free memory to the operating system.
func freeOSMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}
