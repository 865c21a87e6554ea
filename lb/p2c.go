package lb

import (
	"fmt"
	"math/bits"
	"sync/atomic"
)

func init() { Register(p2cPeakEWMA{}) }

// p2cPeakEWMA is power of two choices over Load. Two candidates are drawn at
// random in proportion to their weights (alias method, O(1)), and the one
// with the lower cost wins:
//
//	cost = peak-EWMA latency × (in-flight + 1)
//
// Weights therefore set how often an endpoint is considered; load decides
// among those considered, so at equal load the pick shares follow the
// weights. While either candidate has no latency sample (new, or idle long
// enough for its estimate to decay to nothing) the two are compared on
// in-flight requests alone: a zero latency would otherwise make an unknown
// endpoint look free and flood it.
type p2cPeakEWMA struct{}

func (p2cPeakEWMA) Name() string { return P2CPeakEWMAName }

func (p2cPeakEWMA) Build(eps []Endpoint, _ Options) (Picker, error) {
	idx, err := candidates(P2CPeakEWMAName, eps)
	if err != nil {
		return nil, err
	}
	for _, i := range idx {
		if eps[i].Load == nil {
			return nil, fmt.Errorf("%w: %s: endpoint %q has no Load", ErrInvalidInput, P2CPeakEWMAName, eps[i].Address)
		}
	}
	return newP2CPicker(eps, idx, pickerSeed(), endClock.now), nil
}

// p2cRedraws bounds the draws spent looking for a second candidate distinct
// from the first; after that the first wins alone.
const p2cRedraws = 3

type p2cPicker struct {
	idx   []int32
	loads []*Load
	// Alias table: slot k is kept when the coin is below prob[k], else it
	// yields alias[k].
	prob  []uint32
	alias []int32
	now   func() int64

	_   cacheLinePad
	rng atomic.Uint64 // SplitMix64 state: lock-free, one per picker
	_   cacheLinePad
}

func newP2CPicker(eps []Endpoint, idx []int32, seed uint64, now func() int64) *p2cPicker {
	p := &p2cPicker{idx: idx, loads: make([]*Load, len(idx)), now: now}
	w := make([]uint64, len(idx))
	for k, i := range idx {
		p.loads[k] = eps[i].Load
		w[k] = uint64(eps[i].Weight)
	}
	p.prob, p.alias = aliasTable(w)
	p.rng.Store(seed)
	return p
}

// aliasTable builds Vose's alias table for weights w, with probabilities in
// units of 2^-32. Integer arithmetic keeps it exact up to that unit.
func aliasTable(w []uint64) ([]uint32, []int32) {
	n := uint64(len(w))
	var total uint64
	for _, x := range w {
		total += x
	}
	// Scaled weight of k is w[k]*n in units where 1 slot = total.
	scaled := make([]uint64, n)
	var small, large []int32
	for k, x := range w {
		scaled[k] = x * n
		if scaled[k] < total {
			small = append(small, int32(k))
		} else {
			large = append(large, int32(k))
		}
	}
	prob := make([]uint32, n)
	alias := make([]int32, n)
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		q, _ := bits.Div64(scaled[s]>>32, scaled[s]<<32, total) // scaled[s] < total: no overflow
		prob[s] = uint32(q)
		alias[s] = l
		scaled[l] -= total - scaled[s]
		if scaled[l] < total {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// Whatever is left is full (up to rounding): always keep the slot.
	for _, k := range append(small, large...) {
		prob[k] = ^uint32(0)
		alias[k] = k
	}
	return prob, alias
}

// draw maps 64 random bits to a slot drawn in proportion to weight: the
// high half picks a column of the alias table, the low half tosses its coin.
func (p *p2cPicker) draw(r uint64) int {
	k := int((r >> 32) * uint64(len(p.prob)) >> 32)
	if uint32(r) < p.prob[k] {
		return k
	}
	return int(p.alias[k])
}

func (p *p2cPicker) Pick([]byte) int {
	if len(p.idx) == 1 {
		return int(p.idx[0])
	}
	// One atomic step of the generator yields both draws.
	x := p.rng.Add(goldenGamma2)
	a, b := p.draw(splitmix64(x-goldenGamma)), p.draw(splitmix64(x))
	for range p2cRedraws {
		if a != b {
			break
		}
		b = p.draw(splitmix64(p.rng.Add(goldenGamma)))
	}
	if a != b && !cheaper(p.loads[a], p.loads[b], p.now()) {
		a = b
	}
	return int(p.idx[a])
}

// cheaper reports whether a should be preferred to b (ties go to a, which
// was drawn first and so in proportion to weight).
func cheaper(a, b *Load, now int64) bool {
	fa, fb := float64(max(a.Inflight(), 0)+1), float64(max(b.Inflight(), 0)+1)
	la, lb := a.latencyAt(now), b.latencyAt(now)
	if la == 0 || lb == 0 {
		return fa <= fb
	}
	return la*fa <= lb*fb
}
