package lb

import (
	"slices"
	"testing"
)

// cycleOf returns the reduced weights and the cycle length W of eps.
func cycleOf(eps []Endpoint) ([]uint64, uint64) {
	var g uint64
	for _, e := range eps {
		g = gcd(uint64(e.Weight), g)
	}
	w := make([]uint64, len(eps))
	var total uint64
	for i, e := range eps {
		w[i] = uint64(e.Weight) / g
		total += w[i]
	}
	return w, total
}

func TestRoundRobinExactOverCycle(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		weight func(int) uint32
		stride bool // expected representation
	}{
		{"single", 1, unit, false},
		{"5,1,1", 3, func(i int) uint32 { return []uint32{5, 1, 1}[i] }, false},
		{"gcd 2: 2,4,6", 3, func(i int) uint32 { return uint32(2 * (i + 1)) }, false},
		{"equal", 7, func(int) uint32 { return 3 }, false},
		{"skewed 100,1", 2, func(i int) uint32 { return []uint32{100, 1}[i] }, false},
		{"50 varied", 50, func(i int) uint32 { return uint32(1 + i*7%20) }, false},
		{"10000 equal", 10000, unit, false},
		{"300 heavy weights (long cycle)", 300, func(i int) uint32 { return uint32(1 + i*37%1000) }, true},
		{"1000 varied (too much build work)", 1000, func(i int) uint32 { return uint32(1 + i%60) }, true},
		{"10000 varied", 10000, func(i int) uint32 { return uint32(1 + i*7%50) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps := makeEndpoints(tc.n, tc.weight)
			p := mustBuild(t, roundRobin{}, eps, Options{}).(*rrPicker)
			if got := p.schedule == nil; got != tc.stride {
				t.Fatalf("stride representation = %v, want %v", got, tc.stride)
			}
			w, total := cycleOf(eps)
			// Two full cycles from an arbitrary start: each must be exact.
			for c := range 2 {
				counts := make([]uint64, len(eps))
				for range total {
					counts[p.Pick(nil)]++
				}
				for i := range counts {
					if counts[i] != w[i] {
						t.Fatalf("cycle %d of %d picks: endpoint %d picked %d times, want %d", c, total, i, counts[i], w[i])
					}
				}
			}
		})
	}
}

// TestRoundRobinInterleaving checks nginx's smooth order for known cases. The
// picker starts at a random point of its cycle, so the picks must be a
// rotation of the expected cycle.
func TestRoundRobinInterleaving(t *testing.T) {
	tests := []struct {
		weights []uint32
		cycle   []int
	}{
		{[]uint32{5, 1, 1}, []int{0, 0, 1, 0, 2, 0, 0}},
		{[]uint32{2, 1}, []int{0, 1, 0}},
		{[]uint32{1, 1, 1}, []int{0, 1, 2}},
		{[]uint32{0, 3, 2}, []int{1, 2, 1, 2, 1}},
	}
	for _, tc := range tests {
		eps := makeEndpoints(len(tc.weights), func(i int) uint32 { return tc.weights[i] })
		p := mustBuild(t, roundRobin{}, eps, Options{})
		got := make([]int, 2*len(tc.cycle))
		for k := range got {
			got[k] = p.Pick(nil)
		}
		if !isRotation(got[:len(tc.cycle)], tc.cycle) || !slices.Equal(got[:len(tc.cycle)], got[len(tc.cycle):]) {
			t.Errorf("weights %v: picks %v, want repetitions of a rotation of %v", tc.weights, got, tc.cycle)
		}
	}
}

func isRotation(a, b []int) bool {
	for r := range b {
		if slices.Equal(a, append(slices.Clone(b[r:]), b[:r]...)) {
			return true
		}
	}
	return false
}

// TestRoundRobinSpread bounds how unevenly picks are spaced: the longest gap
// between two picks of endpoint i, over a cycle, divided by its ideal spacing
// W/w_i, worst over all endpoints. The nginx schedule is there for
// comparison with the stride form.
func TestRoundRobinSpread(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		weight func(int) uint32
		stride bool
		maxGap float64 // measured: 1.43, 2.02, 1.90
	}{
		{"50 varied (schedule)", 50, func(i int) uint32 { return uint32(1 + i*7%20) }, false, 1.6},
		{"300 heavy weights (stride)", 300, func(i int) uint32 { return uint32(1 + i*37%1000) }, true, 2.5},
		{"10000 varied (stride)", 10000, func(i int) uint32 { return uint32(1 + i*7%50) }, true, 2.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps := makeEndpoints(tc.n, tc.weight)
			p := mustBuild(t, roundRobin{}, eps, Options{}).(*rrPicker)
			if got := p.schedule == nil; got != tc.stride {
				t.Fatalf("stride representation = %v, want %v", got, tc.stride)
			}
			w, total := cycleOf(eps)
			first := make([]int64, len(eps))
			last := make([]int64, len(eps))
			gap := make([]int64, len(eps))
			for i := range first {
				first[i] = -1
			}
			for k := range int64(total) {
				i := p.Pick(nil)
				if first[i] < 0 {
					first[i] = k
				} else {
					gap[i] = max(gap[i], k-last[i])
				}
				last[i] = k
			}
			worst := 0.0
			for i := range gap {
				// Wrap around: the gap from the last pick to the first of the next cycle.
				g := max(gap[i], first[i]+int64(total)-last[i])
				worst = max(worst, float64(g)*float64(w[i])/float64(total))
			}
			t.Logf("worst gap / ideal spacing = %.3f", worst)
			if worst > tc.maxGap {
				t.Errorf("worst gap / ideal spacing = %.3f, want <= %v", worst, tc.maxGap)
			}
		})
	}
}
