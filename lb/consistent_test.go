package lb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// addresses returns the address each key is sent to.
func addresses(p Picker, eps []Endpoint, keys [][]byte) []string {
	out := make([]string, len(keys))
	for k, key := range keys {
		out[k] = eps[p.Pick(key)].Address
	}
	return out
}

func TestConsistentHashingIgnoresOrder(t *testing.T) {
	keys := makeKeys(100000)
	for _, b := range []Balancer{ringHash{}, maglev{}} {
		for _, n := range []int{1, 10, 100, 1000} {
			eps := makeEndpoints(n, func(i int) uint32 { return uint32(1 + i%4) })
			eps[0].Healthy = n == 1 || false // an excluded endpoint must not shift the rest
			shuffled := append([]Endpoint(nil), eps...)
			rand.New(rand.NewPCG(1, uint64(n))).Shuffle(len(shuffled), func(i, j int) {
				shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
			})
			a := addresses(mustBuild(t, b, eps, Options{}), eps, keys)
			c := addresses(mustBuild(t, b, shuffled, Options{}), shuffled, keys)
			for k := range keys {
				if a[k] != c[k] {
					t.Fatalf("%s/%d: key %q goes to %s in one picker and %s in the other", b.Name(), n, keys[k], a[k], c[k])
				}
			}
		}
	}
}

// TestConsistentHashingIsStable pins the mapping of a few keys. Every sidecar
// of every version must agree on it: if this test fails, the hash, a seed or
// the ring/table construction changed, and a rollout would remap keys.
func TestConsistentHashingIsStable(t *testing.T) {
	eps := makeEndpoints(10, func(i int) uint32 { return uint32(1 + i%3) })
	keys := makeKeys(8)
	want := map[string][]string{
		RingHashName: {"10.0.0.5:8080", "10.0.0.1:8080", "10.0.0.7:8080", "10.0.0.4:8080", "10.0.0.8:8080", "10.0.0.5:8080", "10.0.0.7:8080", "10.0.0.1:8080"},
		MaglevName:   {"10.0.0.7:8080", "10.0.0.8:8080", "10.0.0.5:8080", "10.0.0.0:8080", "10.0.0.9:8080", "10.0.0.6:8080", "10.0.0.5:8080", "10.0.0.7:8080"},
	}
	for _, b := range []Balancer{ringHash{}, maglev{}} {
		got := addresses(mustBuild(t, b, eps, Options{}), eps, keys)
		if fmt.Sprint(got) != fmt.Sprint(want[b.Name()]) {
			t.Errorf("%s: keys map to %q, want %q", b.Name(), got, want[b.Name()])
		}
	}
}

// TestConsistentHashingRemap adds or removes one endpoint of N and measures
// the share of 100,000 keys that change address. Removals are tried at
// several positions and additions with several new addresses; the test
// reports the mean and asserts the worst against an explicit bound.
//
// Bounds: maglev at most 1.5/N (the brief's; the table is rebuilt, so a few
// keys of other endpoints move too). ring_hash at most 1.5/N as well: only
// the keys of the changed endpoint move, and with 160 virtual nodes its
// share of the ring has a relative standard deviation of about 8%, so 1.5/N
// is over 6 standard deviations away.
func TestConsistentHashingRemap(t *testing.T) {
	keys := makeKeys(100000)
	tests := []struct {
		b     Balancer
		n     int
		bound float64 // times 1/N
		exact bool    // only keys of the changed endpoint may move
	}{
		{ringHash{}, 10, 1.5, true},
		{ringHash{}, 100, 1.5, true},
		{maglev{}, 10, 1.5, false},
		{maglev{}, 100, 1.5, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", tc.b.Name(), tc.n), func(t *testing.T) {
			all := makeEndpoints(tc.n+10, unit)
			base := all[:tc.n]
			before := addresses(mustBuild(t, tc.b, base, Options{}), base, keys)
			step := max(tc.n/10, 1)
			for _, op := range []string{"remove", "add"} {
				var sum, worst float64
				trials := 0
				for x := 0; x < tc.n; x += step {
					var changed string
					var eps []Endpoint
					if op == "remove" {
						changed = base[x].Address
						eps = append(append([]Endpoint(nil), base[:x]...), base[x+1:]...)
					} else {
						added := all[tc.n+trials]
						changed = added.Address
						eps = append(append([]Endpoint(nil), base...), added)
					}
					after := addresses(mustBuild(t, tc.b, eps, Options{}), eps, keys)
					moved := 0
					for k := range keys {
						if before[k] == after[k] {
							continue
						}
						moved++
						if tc.exact && before[k] != changed && after[k] != changed {
							t.Fatalf("%s %s: key %q moved from %s to %s", op, changed, keys[k], before[k], after[k])
						}
					}
					f := float64(moved) / float64(len(keys))
					sum += f
					worst = max(worst, f)
					trials++
				}
				mean := sum / float64(trials)
				t.Logf("%s one of %d: moved mean %.4f (%.2f/N), worst %.4f (%.2f/N), over %d trials",
					op, tc.n, mean, mean*float64(tc.n), worst, worst*float64(tc.n), trials)
				if worst > tc.bound/float64(tc.n) {
					t.Errorf("%s: worst moved share %.4f > %.2f/N", op, worst, tc.bound)
				}
				// A share far below 1/N would mean keys avoid the changed endpoint.
				if mean < 0.7/float64(tc.n+1) {
					t.Errorf("%s: mean moved share %.4f is far below 1/N", op, mean)
				}
			}
		})
	}
}

// TestMaglevTableBalance checks each endpoint's share of the table against its
// weight share. Turns are taken in weighted order, so endpoint i ends with
// M·w_i/W entries give or take 1 + N·w_i/W (the turns of the last round
// that the full table cut short).
func TestMaglevTableBalance(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		weight func(int) uint32
	}{
		{"10 equal", 10, unit},
		{"100 equal", 100, unit},
		{"100 weights 1..4", 100, func(i int) uint32 { return uint32(1 + i%4) }},
		{"1000 weights 1..50", 1000, func(i int) uint32 { return uint32(1 + i*7%50) }},
		{"10000 weights 1..7", 10000, func(i int) uint32 { return uint32(1 + i%7) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps := makeEndpoints(tc.n, tc.weight)
			p := mustBuild(t, maglev{}, eps, Options{}).(*maglevPicker)
			m := float64(len(p.table))
			counts := make([]float64, len(eps))
			for _, i := range p.table {
				counts[i]++
			}
			var total float64
			for _, e := range eps {
				total += float64(e.Weight)
			}
			worstRel := 0.0
			for i, e := range eps {
				want := m * float64(e.Weight) / total
				dev := math.Abs(counts[i] - want)
				if allowed := 1 + float64(tc.n)*float64(e.Weight)/total; dev > allowed+1e-9 {
					t.Errorf("endpoint %d (weight %d): %v entries, want %.1f ± %.2f", i, e.Weight, counts[i], want, allowed)
				}
				worstRel = max(worstRel, dev/want)
			}
			t.Logf("table %d: worst relative deviation from weight share %.4f", len(p.table), worstRel)
		})
	}
}

func TestMaglevSizesArePrime(t *testing.T) {
	for _, m := range maglevSizes {
		for d := uint64(2); d*d <= m; d++ {
			if m%d == 0 {
				t.Errorf("table size %d is divisible by %d", m, d)
				break
			}
		}
	}
	for n, want := range map[int]uint64{1: 65537, 32: 65537, 33: 131071, 100: 262139, 1000: 1048573, 10000: 1048573} {
		if got := maglevSize(n); got != want {
			t.Errorf("maglevSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestRingVnodes checks virtual node counts: proportional to weight from 160
// for the lightest, scaled down to fit the ring, never below 1.
func TestRingVnodes(t *testing.T) {
	tests := []struct {
		name    string
		weights []uint32
		limit   uint64
		want    []uint64
	}{
		{"equal", []uint32{7, 7, 7}, maxRingSize, []uint64{160, 160, 160}},
		{"proportional", []uint32{2, 4, 3}, maxRingSize, []uint64{160, 320, 240}},
		{"scaled down", []uint32{1, 1, 2}, 400, []uint64{100, 100, 200}},
		{"never below 1", []uint32{1, 1000}, 1000, []uint64{1, 999}},
	}
	for _, tc := range tests {
		eps := makeEndpoints(len(tc.weights), func(i int) uint32 { return tc.weights[i] })
		ranked := []int32{0, 1, 2}[:len(eps)]
		if got := vnodeCounts(eps, ranked, ringVnodes, tc.limit); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: counts %v, want %v", tc.name, got, tc.want)
		}
	}
}
