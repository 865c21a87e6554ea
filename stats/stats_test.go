package stats

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCounterSumsConcurrentAdds(t *testing.T) {
	var c Counter
	if c.Load() != 0 {
		t.Fatalf("zero counter reads %d", c.Load())
	}
	const goroutines, adds = 16, 10000
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < adds; i++ {
				c.Add(2)
			}
		}()
	}
	// Reads while adding never go down.
	var last uint64
	for i := 0; i < 1000; i++ {
		v := c.Load()
		if v < last {
			t.Fatalf("Load went down: %d after %d", v, last)
		}
		last = v
	}
	wg.Wait()
	if got, want := c.Load(), uint64(2*goroutines*adds); got != want {
		t.Fatalf("Load = %d, want %d", got, want)
	}
}

func TestStripeOfStaysInRange(t *testing.T) {
	for _, n := range []int{1, 2, 8, 64} {
		var wg sync.WaitGroup
		var bad atomic.Int32
		for g := 0; g < 32; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i := stripeOf(n); i < 0 || i >= n {
					bad.Store(int32(i))
				}
			}()
		}
		wg.Wait()
		if bad.Load() != 0 {
			t.Errorf("stripeOf(%d) returned %d", n, bad.Load())
		}
	}
	if counterStripes&(counterStripes-1) != 0 || histogramStripes&(histogramStripes-1) != 0 || histogramStripes > 16 {
		t.Errorf("stripe counts %d, %d are not powers of two", counterStripes, histogramStripes)
	}
}

func TestHistogramBuckets(t *testing.T) {
	us := time.Microsecond
	cases := []struct {
		d      time.Duration
		bucket int
	}{
		{-5, 0}, {0, 0}, {1, 0}, {us, 0}, {us + 1, 1}, {2 * us, 1}, {3 * us, 2}, {4 * us, 3},
		{4*us + 1, 4}, {5 * us, 4}, {8 * us, 7}, {8*us + 1, 8}, {10 * us, 8}, {10*us + 1, 9},
		{16 * us, 11}, {20 * us, 12}, {1 << 25 * us, NumBuckets - 2}, {1<<25*us + 1, NumBuckets - 1},
		{time.Hour, NumBuckets - 1},
	}
	for _, c := range cases {
		if got := bucketOf(c.d); got != c.bucket {
			t.Errorf("bucketOf(%v) = %d, want %d", c.d, got, c.bucket)
		}
	}
	// Every bucket's bound is in it and one nanosecond more is in the next,
	// bounds increase, and no bucket is wider than a quarter of its lower
	// bound (above 4µs).
	prev := time.Duration(0)
	for i := 0; i < NumBuckets-1; i++ {
		b := BucketBound(i)
		if b <= prev {
			t.Fatalf("bound %d (%v) not above %v", i, b, prev)
		}
		if bucketOf(b) != i || bucketOf(b+1) != i+1 {
			t.Errorf("bound %d = %v: bucketOf(bound) = %d, bucketOf(bound+1) = %d", i, b, bucketOf(b), bucketOf(b+1))
		}
		if prev >= 4*us && b-prev > prev/4 {
			t.Errorf("bucket %d (%v, %v] is wider than a quarter of its lower bound", i, prev, b)
		}
		prev = b
	}
	if BucketBound(NumBuckets-1) != -1 {
		t.Errorf("overflow bucket has bound %v", BucketBound(NumBuckets-1))
	}
}

func TestHistogramQuantilesAndOctaves(t *testing.T) {
	var h Histogram
	if s := h.Snapshot(); s.Count() != 0 || s.Quantile(0.5) != 0 {
		t.Fatalf("empty histogram: count %d p50 %v", s.Count(), s.Quantile(0.5))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 20000)
	var sum time.Duration
	for i := range vals {
		// Log-uniform between 10µs and 100ms.
		vals[i] = time.Duration(10e3 * math.Pow(10, 4*rng.Float64()))
		sum += vals[i]
		h.Record(vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	s := h.Snapshot()
	if s.Count() != uint64(len(vals)) || s.Sum != sum {
		t.Fatalf("count %d sum %v, want %d %v", s.Count(), s.Sum, len(vals), sum)
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := vals[int(q*float64(len(vals)-1))]
		got := s.Quantile(q)
		if diff := got - want; diff > want/4 || -diff > want/4 {
			t.Errorf("p%v = %v, true %v: off by more than a quarter", q*100, got, want)
		}
	}
	var bounds []time.Duration
	var last uint64
	s.Octaves(func(b time.Duration, cum uint64) {
		bounds = append(bounds, b)
		if cum < last {
			t.Errorf("cumulative count went down at %v", b)
		}
		last = cum
		want := uint64(sort.Search(len(vals), func(i int) bool { return vals[i] > b }))
		if cum != want {
			t.Errorf("count at or below %v = %d, want %d", b, cum, want)
		}
	})
	if len(bounds) != 26 || bounds[0] != time.Microsecond || bounds[25] != 1<<25*time.Microsecond {
		t.Errorf("octave bounds %v", bounds)
	}
}

func TestHistogramOverflowAndConcurrency(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Record(time.Duration(i) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	h.Record(time.Hour)
	s := h.Snapshot()
	if s.Count() != 8001 || s.Buckets[NumBuckets-1] != 1 {
		t.Fatalf("count %d overflow %d", s.Count(), s.Buckets[NumBuckets-1])
	}
	if q := s.Quantile(1); q != 1<<25*time.Microsecond {
		t.Errorf("max reads %v, want the overflow bucket's lower bound", q)
	}
}

func TestRecordingDoesNotAllocate(t *testing.T) {
	var c Counter
	var h Histogram
	c.Add(1)
	h.Record(1)
	if n := testing.AllocsPerRun(1000, func() {
		c.Add(1)
		h.Record(42 * time.Microsecond)
	}); n != 0 {
		t.Fatalf("%v allocations per record", n)
	}
}
