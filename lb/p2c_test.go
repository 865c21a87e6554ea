package lb

import (
	"container/heap"
	"math"
	"testing"
	"time"
)

// completion is a request in flight in the simulation.
type completion struct {
	at       int64 // virtual nanos
	endpoint int
	rtt      time.Duration
}

type completions []completion

func (c completions) Len() int           { return len(c) }
func (c completions) Less(i, j int) bool { return c[i].at < c[j].at }
func (c completions) Swap(i, j int)      { c[i], c[j] = c[j], c[i] }
func (c *completions) Push(x any)        { *c = append(*c, x.(completion)) }
func (c *completions) Pop() any {
	old := *c
	x := old[len(old)-1]
	*c = old[:len(old)-1]
	return x
}

// simulateP2C sends requests every interval of virtual time to 5 endpoints
// whose round trips are rtts, and returns each endpoint's share of picks.
// With virtualEnd the Loads see the virtual clock; otherwise they are fed
// through the public Load.End, which stamps them with the real clock (so
// time barely passes for the EWMA).
func simulateP2C(t *testing.T, rtts []time.Duration, requests int, interval time.Duration, virtualEnd bool) []float64 {
	t.Helper()
	eps := makeEndpoints(len(rtts), unit)
	idx, err := candidates(P2CPeakEWMAName, eps)
	if err != nil {
		t.Fatal(err)
	}
	var now int64
	clock := func() int64 { return now }
	if !virtualEnd {
		clock = endClock.now
	}
	p := newP2CPicker(eps, idx, 42, clock)
	var pending completions
	picks := make([]float64, len(eps))
	for r := range requests {
		now = int64(r) * int64(interval)
		for len(pending) > 0 && pending[0].at <= now {
			c := heap.Pop(&pending).(completion)
			if virtualEnd {
				eps[c.endpoint].Load.endAt(c.rtt, false, c.at)
			} else {
				eps[c.endpoint].Load.End(c.rtt, false)
			}
		}
		i := p.Pick(nil)
		picks[i]++
		eps[i].Load.Begin()
		heap.Push(&pending, completion{now + int64(rtts[i]), i, rtts[i]})
	}
	for i := range picks {
		picks[i] /= float64(requests)
	}
	return picks
}

// TestP2CAvoidsSlowEndpoint: one endpoint of 5 is 10x slower (100 ms against
// 10 ms); 100,000 requests arrive 1 ms apart. A fair share would be 0.2.
func TestP2CAvoidsSlowEndpoint(t *testing.T) {
	const slow = 2
	rtts := []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	tests := []struct {
		name       string
		virtualEnd bool
		maxSlow    float64 // measured: 0.0004 and 0.0003
	}{
		// 100 s of virtual time: the slow endpoint's estimate decays between
		// probes, so it keeps getting an occasional request.
		{"virtual clock", true, 0.01},
		{"Load.End", false, 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shares := simulateP2C(t, rtts, 100000, time.Millisecond, tc.virtualEnd)
			t.Logf("shares %.4f", shares)
			if shares[slow] > tc.maxSlow {
				t.Errorf("slow endpoint got %.4f of the picks, want <= %v", shares[slow], tc.maxSlow)
			}
			if shares[slow] == 0 {
				t.Errorf("slow endpoint was never tried")
			}
			for i, s := range shares {
				// The rest is split evenly among the fast ones, within 10%.
				if i != slow && math.Abs(s-(1-shares[slow])/4) > 0.025 {
					t.Errorf("fast endpoint %d got %.4f of the picks", i, s)
				}
			}
		})
	}
}

// TestP2CWeights: candidates are drawn in proportion to weight, so with
// equal load the picks follow the weights.
func TestP2CWeights(t *testing.T) {
	tests := [][]uint32{
		{1, 1, 1, 1},
		{1, 2, 3, 4},
		{1, 100},
		{7, 0, 3}, // weight 0 is never picked
	}
	const picks = 200000
	for _, weights := range tests {
		eps := makeEndpoints(len(weights), func(i int) uint32 { return weights[i] })
		idx, err := candidates(P2CPeakEWMAName, eps)
		if err != nil {
			t.Fatal(err)
		}
		p := newP2CPicker(eps, idx, 7, endClock.now)
		counts := make([]float64, len(eps))
		for range picks {
			counts[p.Pick(nil)]++
		}
		var total float64
		for _, w := range weights {
			total += float64(w)
		}
		for i, w := range weights {
			// 200,000 draws: the standard deviation of a share is below 0.0012.
			if got, want := counts[i]/picks, float64(w)/total; math.Abs(got-want) > 0.005 {
				t.Errorf("weights %v: endpoint %d got %.4f of the picks, want %.4f", weights, i, got, want)
			}
		}
	}
}

func TestAliasTableIsExact(t *testing.T) {
	tests := [][]uint64{{1}, {1, 1}, {1, 3}, {5, 1, 1}, {1, 2, 3, 4, 5, 6, 7}, {1, 1 << 32}}
	for _, w := range tests {
		prob, alias := aliasTable(w)
		var total float64
		for _, x := range w {
			total += float64(x)
		}
		// Probability of k: slots kept as k plus slots aliased to k.
		got := make([]float64, len(w))
		for s := range prob {
			keep := float64(prob[s]) / (1 << 32)
			if prob[s] == math.MaxUint32 {
				keep = 1
			}
			got[s] += keep / float64(len(w))
			got[alias[s]] += (1 - keep) / float64(len(w))
		}
		for k := range w {
			// Exact up to the 2^-32 unit of the coin.
			if math.Abs(got[k]-float64(w[k])/total) > float64(len(w))/(1<<32) {
				t.Errorf("weights %v: P(%d) = %v, want %v", w, k, got[k], float64(w[k])/total)
			}
		}
	}
}

func TestCheaper(t *testing.T) {
	ms := int64(time.Millisecond)
	load := func(latency, inflight int64) *Load {
		l := new(Load)
		l.ewmaNanos.Store(latency)
		l.inflight.Store(inflight)
		return l
	}
	tests := []struct {
		name string
		a, b *Load
		want bool
	}{
		{"no samples: fewer in flight wins", load(0, 0), load(0, 2), true},
		{"no samples: more in flight loses", load(0, 3), load(0, 1), false},
		{"one unsampled: in flight only", load(0, 1), load(ms, 2), true},
		{"one unsampled: in flight only, b", load(50*ms, 0), load(0, 1), true},
		{"tie goes to a", load(10*ms, 0), load(5*ms, 1), true},
		{"cost: latency x (inflight+1)", load(10*ms, 0), load(4*ms, 1), false},
		{"cost: in flight outweighs latency", load(2*ms, 9), load(10*ms, 0), false},
		{"negative in flight counts as 0", load(10*ms, -3), load(10*ms, 0), true},
	}
	for _, tc := range tests {
		if got := cheaper(tc.a, tc.b, 0); got != tc.want {
			t.Errorf("%s: cheaper = %v, want %v", tc.name, got, tc.want)
		}
	}
}
