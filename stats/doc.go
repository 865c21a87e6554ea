// Package stats holds the counters and histograms the request path records
// into: striped so that goroutines on different CPUs do not fight over one
// cache line, free of locks and allocations once warm, and summed only when
// somebody reads them (the admin endpoint).
//
// Gauges (values that go up and down, like requests in flight) stay plain
// sync/atomic integers where they are used: they are read back on the hot
// path to enforce limits, which a striped value cannot do cheaply.
//
// stats is a leaf: it must never import another OctoMesh package, so that
// every hot-path package may import it.
package stats
