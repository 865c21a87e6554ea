package stats

import (
	"sync/atomic"
)

// counterStripes is the number of stripes of a Counter: a power of two,
// enough that goroutines running at once on a large machine rarely share
// one, at 4 KiB a counter.
const counterStripes = 32

// Counter is a monotonically increasing count, split into stripes on
// separate cache lines. Add and Load may be called from any goroutine. The
// zero value is ready to use and a Counter never allocates. It must not be
// copied after first use.
type Counter struct {
	cells [counterStripes]counterCell
}

type counterCell struct {
	n atomic.Uint64
	_ [cacheLinePad - 8]byte
}

// Add adds n. It takes no lock and does not allocate.
func (c *Counter) Add(n uint64) {
	c.cells[stripeOf(counterStripes)].n.Add(n)
}

// Load returns the sum of the stripes. While other goroutines add, the sum
// is some value between the counts before and after their adds; successive
// Loads never go down.
func (c *Counter) Load() uint64 {
	var sum uint64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}
