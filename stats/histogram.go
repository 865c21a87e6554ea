package stats

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets are log-linear over microseconds, as in HdrHistogram:
// every power of two from 4µs to 2^25µs (about 33.5s) is split into four
// equal buckets, below 4µs one bucket per microsecond, and one bucket holds
// everything above 2^25µs. A bucket is never wider than a quarter of its
// lower bound, so a quantile read from the buckets is off by at most a
// quarter of the true value (1µs below 4µs). Buckets include their upper bound,
// as Prometheus's "le" does: bucket 0 is [0, 1µs], bucket 1 (1µs, 2µs].
const (
	subBits       = 2
	subBuckets    = 1 << subBits
	maxOctave     = 25                                     // the last finite bound is 2^maxOctave µs
	overflowIndex = (maxOctave - subBits + 1) * subBuckets // the bucket above 2^maxOctave µs
	// NumBuckets is the number of buckets, the overflow bucket included.
	NumBuckets = overflowIndex + 1
)

// Histogram records durations into fixed log-linear buckets, striped like
// Counter. Record may be called from any goroutine and does not allocate
// once the histogram is in use; the zero value is ready to use. A
// Histogram must not be copied after first use.
type Histogram struct {
	cells atomic.Pointer[[]histogramCell]
}

type histogramCell struct {
	buckets [NumBuckets]atomic.Uint64
	sum     atomic.Uint64 // nanoseconds
	_       [cacheLinePad - (NumBuckets+1)*8%cacheLinePad]byte
}

// bucketOf returns the bucket holding d.
func bucketOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	v := uint64(d-1) / 1000 // whole microseconds below d, so bounds are inclusive
	if v < subBuckets {
		return int(v)
	}
	k := bits.Len64(v) - 1 // v is in [2^k, 2^(k+1))
	i := (k-subBits+1)*subBuckets + int(v>>(k-subBits))&(subBuckets-1)
	return min(i, overflowIndex)
}

// lowerMicros is the exclusive lower bound of bucket i, in microseconds.
func lowerMicros(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	k := i/subBuckets + subBits - 1
	return uint64(subBuckets+i%subBuckets) << (k - subBits)
}

// BucketBound returns the inclusive upper bound of bucket i; the overflow
// bucket (NumBuckets-1) has none and returns -1.
func BucketBound(i int) time.Duration {
	if i >= overflowIndex {
		return -1
	}
	return time.Duration(lowerMicros(i+1)) * time.Microsecond
}

// Record adds one observation. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	p := h.cells.Load()
	if p == nil {
		p = h.init()
	}
	cells := *p
	c := &cells[stripeOf(len(cells))]
	c.buckets[bucketOf(d)].Add(1)
	c.sum.Add(uint64(max(d, 0)))
}

//go:noinline
func (h *Histogram) init() *[]histogramCell {
	cells := make([]histogramCell, histogramStripes)
	if h.cells.CompareAndSwap(nil, &cells) {
		return &cells
	}
	return h.cells.Load()
}

// Snapshot is a histogram's buckets summed over its stripes at one moment.
type Snapshot struct {
	Buckets [NumBuckets]uint64
	Sum     time.Duration
}

// Snapshot reads the histogram. Records made while it reads may be
// partly included (counted in a bucket but not yet in Sum, or the other
// way round); the buckets alone are always consistent with Count.
func (h *Histogram) Snapshot() Snapshot {
	var s Snapshot
	p := h.cells.Load()
	if p == nil {
		return s
	}
	var sum uint64
	for i := range *p {
		c := &(*p)[i]
		for b := range c.buckets {
			s.Buckets[b] += c.buckets[b].Load()
		}
		sum += c.sum.Load()
	}
	s.Sum = time.Duration(sum)
	return s
}

// Count is the number of observations.
func (s *Snapshot) Count() uint64 {
	var n uint64
	for _, b := range s.Buckets {
		n += b
	}
	return n
}

// Quantile estimates the q-quantile (0 <= q <= 1) by interpolating inside
// the bucket that holds it; 0 when nothing was recorded. Observations in
// the overflow bucket read as its lower bound.
func (s *Snapshot) Quantile(q float64) time.Duration {
	n := s.Count()
	if n == 0 {
		return 0
	}
	rank := min(max(uint64(math.Ceil(q*float64(n))), 1), n) // nearest rank
	var seen uint64
	for i, b := range s.Buckets {
		if seen+b < rank {
			seen += b
			continue
		}
		lo := time.Duration(lowerMicros(i)) * time.Microsecond
		if i == overflowIndex {
			return lo
		}
		width := BucketBound(i) - lo
		return lo + time.Duration(float64(width)*float64(rank-seen)/float64(b))
	}
	return 0 // not reached: rank <= n
}

// Octaves calls fn with the cumulative count at every power-of-two bound
// from 1µs to 2^25µs, in increasing order: a coarser view for exposition
// formats. Every power of two is a bucket bound, so the counts are exact.
func (s *Snapshot) Octaves(fn func(bound time.Duration, cumulative uint64)) {
	var cum uint64
	next := uint64(1)
	for i := 0; i < overflowIndex; i++ {
		cum += s.Buckets[i]
		if lowerMicros(i+1) == next {
			fn(time.Duration(next)*time.Microsecond, cum)
			next <<= 1
		}
	}
}
