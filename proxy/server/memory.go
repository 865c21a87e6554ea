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
// triggered by the connections that held the memory. A big config built
// from the pilot (clusters and their endpoints, decoded from protobuf)
// leaves garbage the same way, and triggers a release too once updates
// stop arriving.
const (
	// releaseAfterConns: this many connections fewer than the peak since
	// the last release (or start) trigger a release.
	releaseAfterConns = 256
	// releaseAfterBuilt: this many clusters and endpoints built since the
	// last release (or start) trigger a release.
	releaseAfterBuilt = 1000
	// releaseEvery bounds the releases' cost when connections come and
	// go in waves.
	releaseEvery = 10 * time.Second
)

// memoryReleaser watches the open connections and the config built, and
// releases memory after a burst of connections has closed or a big config
// has been built.
type memoryReleaser struct {
	peak, last int
	// built is the count of clusters and endpoints built at the last
	// check, atRelease at the last release.
	built, atRelease int64
	released         time.Time
	release          func() // releaseMemory; tests count calls instead
}

// check takes the connections open now and the clusters and endpoints
// built since start; it reports whether it released. It waits for the
// counts to stop changing (connections close over a few checks, a pilot
// sends a big config in several updates), so that one release frees the
// whole burst.
func (m *memoryReleaser) check(open int, built int64, now time.Time) bool {
	falling := open < m.last
	building := built != m.built
	m.last, m.built = open, built
	if open > m.peak {
		m.peak = open
	}
	burst := m.peak-open >= releaseAfterConns
	bigConfig := built-m.atRelease >= releaseAfterBuilt
	if falling || building || !(burst || bigConfig) || now.Sub(m.released) < releaseEvery {
		return false
	}
	m.release()
	m.peak, m.released, m.atRelease = open, now, built
	return true
}

// freeOSMemory collects twice, so that sync.Pool caches (kept for one GC
// as victims) holding the closed connections' buffers are freed too, then
// returns free memory to the operating system.
func freeOSMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}
