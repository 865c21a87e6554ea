package lb

import (
	"fmt"
	"math/bits"
	"sync/atomic"
)

func init() { Register(maglev{}) }

// maglevSizes are the table sizes, all prime. The table has the smallest size
// with at least maglevPerEndpoint entries per endpoint, or the largest. M/N
// sets both balance (each endpoint is within about N/M of its share) and
// disruption: adding one endpoint to 100 moved 1.50/N of the keys at
// M = 65537, 1.30/N at 131071, 1.25/N at 262139, 1.08/N at 1048573 (1/N is
// the minimum). The largest size keeps Build at 50-90 ms for 10,000
// endpoints; 4194301 took ten times longer. A fixed short list rather than
// "next prime above k·N" keeps M unchanged as endpoints come and go, since a
// new M reshuffles every key.
var maglevSizes = [...]uint64{65537, 131071, 262139, 524287, 1048573}

const maglevPerEndpoint = 2000

// maglev is Maglev consistent hashing (Eisenbud et al., NSDI 2016). Endpoint
// permutations come from xxh64 of the address with fixed seeds, and
// endpoints take turns in address order, so the table is the same in every
// process whatever order endpoints arrive in. Weights are honoured by the
// order of turns (see populate), so over the table each endpoint fills
// entries in proportion to its weight, and at least one.
//
// A request without a key (nil or empty) walks the table in order with a
// counter: deterministic, spread, and in proportion to table entries.
type maglev struct{}

func (maglev) Name() string { return MaglevName }

func (maglev) Build(eps []Endpoint, _ Options) (Picker, error) {
	idx, err := candidates(MaglevName, eps)
	if err != nil {
		return nil, err
	}
	ranked, err := byAddress(MaglevName, eps, idx)
	if err != nil {
		return nil, err
	}
	m := maglevSize(len(ranked))
	if uint64(len(ranked)) > m {
		return nil, fmt.Errorf("%w: %s: %d endpoints exceed the table size %d", ErrInvalidInput, MaglevName, len(ranked), m)
	}
	return newMaglevPicker(eps, ranked, m, pickerSeed()), nil
}

func maglevSize(n int) uint64 {
	for _, m := range maglevSizes {
		if m >= uint64(n)*maglevPerEndpoint {
			return m
		}
	}
	return maglevSizes[len(maglevSizes)-1]
}

type maglevPicker struct {
	table []int32 // endpoint index per slot

	_    cacheLinePad
	next atomic.Uint64 // keyless requests
	_    cacheLinePad
}

func newMaglevPicker(eps []Endpoint, ranked []int32, m uint64, start uint64) *maglevPicker {
	b := maglevBuilder{
		ranked: ranked,
		pos:    make([]uint64, len(ranked)),
		skip:   make([]uint64, len(ranked)),
		table:  make([]int32, m),
	}
	w := make([]uint64, len(ranked))
	for r, i := range ranked {
		addr := []byte(eps[i].Address)
		b.pos[r] = xxh64(addr, seedMaglevOff) % m
		b.skip[r] = xxh64(addr, seedMaglevSkip)%(m-1) + 1
		w[r] = uint64(eps[i].Weight)
	}
	for k := range b.table {
		b.table[k] = -1
	}
	b.populate(w)
	p := &maglevPicker{table: b.table}
	p.next.Store(start)
	return p
}

func (p *maglevPicker) Pick(key []byte) int {
	if len(key) == 0 {
		return int(p.table[p.next.Add(1)%uint64(len(p.table))])
	}
	// Lemire's multiply-shift maps the hash onto [0, len) without a division.
	slot, _ := bits.Mul64(xxh64(key, seedKey), uint64(len(p.table)))
	return int(p.table[slot])
}

type maglevBuilder struct {
	ranked []int32
	pos    []uint64 // next slot of each endpoint's permutation
	skip   []uint64
	table  []int32
	filled uint64
}

// take gives endpoint r its turn: the next free slot of its permutation. It
// reports whether the table is now full.
func (b *maglevBuilder) take(r int) bool {
	m := uint64(len(b.table))
	c := b.pos[r]
	for b.table[c] >= 0 {
		if c += b.skip[r]; c >= m {
			c -= m
		}
	}
	b.table[c] = b.ranked[r]
	if c += b.skip[r]; c >= m {
		c -= m
	}
	b.pos[r] = c
	b.filled++
	return b.filled == m
}

// maxSweepWork bounds the round-by-round sweep (rounds × endpoints); beyond
// it, for very skewed weights, turns come from a heap instead.
const maxSweepWork = 1 << 24

// populate fills the table with turns in weighted order. The j-th turn (from
// 0) of endpoint r falls in round ceil(j·wmax/w[r]); within a round, turns go
// in rank (address) order. The heaviest endpoints take a turn every round,
// an endpoint of half their weight every other round, and so on; with equal
// weights this is the plain rotation of the Maglev paper. Two ways to walk
// that one order: a sweep over every endpoint each round, cheap unless the
// weights are so skewed that most rounds have few turns, and a heap keyed by
// (round, rank) for that case.
func (b *maglevBuilder) populate(w []uint64) {
	m := uint64(len(b.table))
	var wmax, total uint64
	for _, x := range w {
		wmax = max(wmax, x)
		total += x
	}
	turns := make([]uint64, len(w))
	// Each round fills about total/wmax slots.
	if rounds := m/max(total/wmax, 1) + 2; rounds*uint64(len(w)) <= maxSweepWork {
		for round := uint64(0); ; round++ {
			for r := range w {
				// Turn j is due when j·wmax ≤ round·w[r]; products < 2^56.
				if turns[r]*wmax <= round*w[r] {
					turns[r]++
					if b.take(r) {
						return
					}
				}
			}
		}
	}
	h := make(turnHeap, len(w))
	for r := range h {
		h[r] = turnDue{rank: int32(r)} // every first turn is due in round 0
	}
	for {
		r := h[0].rank
		if b.take(int(r)) {
			return
		}
		turns[r]++
		h[0].round = (turns[r]*wmax + w[r] - 1) / w[r]
		h.down(0)
	}
}

type turnDue struct {
	round uint64
	rank  int32
}

// turnHeap is a min-heap of the next turn of each endpoint, by (round, rank).
// It starts as a valid heap: all rounds are 0 and ranks ascend.
type turnHeap []turnDue

func (h turnHeap) less(a, b int) bool {
	return h[a].round < h[b].round || h[a].round == h[b].round && h[a].rank < h[b].rank
}

func (h turnHeap) down(k int) {
	for {
		c := 2*k + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h.less(c+1, c) {
			c++
		}
		if !h.less(c, k) {
			return
		}
		h[k], h[c] = h[c], h[k]
		k = c
	}
}
