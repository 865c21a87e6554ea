package stats

import (
	"runtime"
	"unsafe"
)

// cacheLinePad separates stripes. 128 bytes rather than 64, as sync.Pool
// does: adjacent-line prefetchers move cache lines in pairs.
const cacheLinePad = 128

// histogramStripes is the number of stripes of a Histogram: a power of
// two, a few per P so that two goroutines running at once rarely share
// one, fixed when the process starts and capped to bound memory on
// machines with many CPUs. (Counters have a fixed 32, so that they need no
// allocation.)
var histogramStripes = stripeCount(4, 16)

func stripeCount(perP, limit int) int {
	n := 1
	for n < perP*runtime.GOMAXPROCS(0) && n < limit {
		n <<= 1
	}
	return n
}

// stripeOf returns an index below n (a power of two) for the calling
// goroutine: a multiplicative hash of the address of a variable on its
// stack. It costs about a nanosecond, allocates nothing and needs no
// runtime internals. A goroutine mostly lands on one stripe (addresses in
// the same 2 KiB of stack hash alike); two goroutines share one only on a
// hash collision, which costs contention on that stripe, never
// correctness: every stripe is updated atomically.
//
// The alternative, the P's id through runtime.procPin (linkname), keeps
// stripes strictly per P but costs about 5 ns per call on a 2-core EPYC,
// more than the atomic add it protects, and ties the build to a runtime
// internal.
func stripeOf(n int) int {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))>>11) * 0x9e3779b97f4a7c15
	return int(h>>58) & (n - 1) // the best-mixed bits; n is at most 64
}
