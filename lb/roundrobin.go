package lb

import (
	"math"
	"math/bits"
	"sync/atomic"
)

func init() { Register(roundRobin{}) }

// Limits of the precomputed schedule: one cycle of at most maxScheduleLen
// picks, built in at most maxScheduleWork steps of the nginx algorithm
// (endpoints x cycle length). Beyond either, the stride form is used.
const (
	maxScheduleLen  = 1 << 16
	maxScheduleWork = 1 << 24
)

// roundRobin is smooth weighted round robin. Weights are reduced by their GCD;
// a cycle is then W = sum of reduced weights picks, in which every endpoint is
// picked exactly its reduced weight times.
//
// Two representations, both with exact proportions over every cycle:
//   - schedule: the cycle as produced by nginx's smooth WRR (5,1,1 gives
//     a,a,b,a,c,a,a), precomputed when it is short enough;
//   - stride: for long cycles (thousands of endpoints with varied weights),
//     pick n lands on position n*s mod W of the cumulative weight line, with
//     s coprime to W. Multiplication by s permutes [0, W), so each endpoint
//     gets exactly its weight per cycle; s is chosen (goldenStride) so that
//     each endpoint's picks are spread evenly through the cycle. Memory is
//     O(endpoints); Pick is two divisions and a bucketed search.
type roundRobin struct{}

func (roundRobin) Name() string { return RoundRobinName }

func (roundRobin) Build(eps []Endpoint, _ Options) (Picker, error) {
	idx, err := candidates(RoundRobinName, eps)
	if err != nil {
		return nil, err
	}
	return newRoundRobinPicker(eps, idx, pickerSeed()), nil
}

type rrPicker struct {
	// schedule mode when schedule != nil.
	schedule []int32
	// stride mode.
	cum    []uint64 // cum[i] = sum of reduced weights of idx[0..i]
	idx    []int32
	total  uint64
	stride uint64
	// bucket[b] is the first k with cum[k] > b<<shift: a lookup searches
	// one or two entries instead of all of cum.
	bucket []uint32
	shift  uint

	_    cacheLinePad
	next atomic.Uint64
	_    cacheLinePad
}

func newRoundRobinPicker(eps []Endpoint, idx []int32, start uint64) *rrPicker {
	var g uint64
	for _, i := range idx {
		g = gcd(uint64(eps[i].Weight), g)
	}
	w := make([]uint64, len(idx))
	var total uint64
	allOne := true
	for k, i := range idx {
		w[k] = uint64(eps[i].Weight) / g
		total += w[k]
		allOne = allOne && w[k] == 1
	}
	p := &rrPicker{}
	switch {
	case allOne && total <= maxScheduleLen:
		// nginx's order for equal weights is the endpoints in order.
		p.schedule = idx
	case total <= maxScheduleLen && total*uint64(len(idx)) <= maxScheduleWork:
		p.schedule = nginxSchedule(idx, w, total)
	default:
		p.idx = idx
		p.total = total
		p.cum = make([]uint64, len(w))
		var c uint64
		for k := range w {
			c += w[k]
			p.cum[k] = c
		}
		p.stride = goldenStride(total, allOne)
		// Between n and 2n buckets.
		p.shift = uint(max(bits.Len64(total)-bits.Len(uint(len(w))), 0))
		p.bucket = make([]uint32, (total-1)>>p.shift+2)
		k := 0
		for b := range p.bucket {
			for k < len(p.cum) && p.cum[k] <= uint64(b)<<p.shift {
				k++
			}
			p.bucket[b] = uint32(k)
		}
	}
	p.next.Store(start)
	return p
}

// nginxSchedule runs one cycle of nginx's smooth weighted round robin: every
// endpoint gains its weight, the richest is picked and pays the total.
func nginxSchedule(idx []int32, w []uint64, total uint64) []int32 {
	cur := make([]int64, len(w))
	s := make([]int32, 0, total)
	for range total {
		best := 0
		for k := range w {
			cur[k] += int64(w[k])
			if cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= int64(total)
		s = append(s, idx[best])
	}
	return s
}

// goldenStride returns the multiplier s for the stride form. Endpoint i owns
// the positions [c, c+w) of the weight line, so its picks are the n with
// n*s ≡ c+k (mod W), i.e. n = (c+k)*t with t = s⁻¹: an arithmetic progression
// of step t around the cycle. Such a progression is evenly spread, for every
// w, when the continued fraction of t/W has only small partial quotients
// (the golden ratio, all ones, is the ideal), so t is the candidate near W/φ
// with the smallest largest partial quotient. Equal weights use t = 1, plain
// rotation, which is perfectly spread already.
func goldenStride(total uint64, equal bool) uint64 {
	if equal || total <= 2 {
		return 1
	}
	t0, _ := bits.Mul64(total, goldenGamma) // total/φ
	best, bestQ := uint64(0), uint64(math.MaxUint64)
	for d := range uint64(2 * strideCandidates) {
		// t0, t0+1, t0-1, t0+2, ...: nearer candidates win ties.
		t := t0 + (d+1)/2
		if d%2 == 0 {
			t = t0 - d/2
		}
		if t == 0 || t >= total || gcd(t, total) != 1 {
			continue
		}
		if q := maxPartialQuotient(t, total); q < bestQ {
			best, bestQ = t, q
		}
	}
	if best == 0 {
		best = 1
	}
	return modInverse(best, total)
}

// strideCandidates is how far from W/φ goldenStride looks on each side.
const strideCandidates = 128

// maxPartialQuotient is the largest partial quotient of the continued
// fraction of a/m, 0 < a < m.
func maxPartialQuotient(a, m uint64) uint64 {
	var q uint64
	for a != 0 {
		q = max(q, m/a)
		m, a = a, m%a
	}
	return q
}

// modInverse returns x with a*x ≡ 1 (mod m), for a coprime to m < 2^63.
func modInverse(a, m uint64) uint64 {
	r0, r1 := int64(m), int64(a)
	x0, x1 := int64(0), int64(1)
	for r1 != 0 {
		q := r0 / r1
		r0, r1 = r1, r0-q*r1
		x0, x1 = x1, x0-q*x1
	}
	if x0 < 0 {
		x0 += int64(m)
	}
	return uint64(x0)
}

func (p *rrPicker) Pick([]byte) int {
	n := p.next.Add(1)
	if p.schedule != nil {
		return int(p.schedule[n%uint64(len(p.schedule))])
	}
	hi, lo := bits.Mul64(n%p.total, p.stride)
	pos := bits.Rem64(hi, lo, p.total)
	// First k with cum[k] > pos; it is at most bucket[b+1].
	b := pos >> p.shift
	i, j := int(p.bucket[b]), int(p.bucket[b+1])
	for i < j {
		m := int(uint(i+j) >> 1)
		if p.cum[m] > pos {
			j = m
		} else {
			i = m + 1
		}
	}
	return int(p.idx[i])
}
