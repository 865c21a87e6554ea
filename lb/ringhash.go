package lb

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync/atomic"
)

func init() { Register(ringHash{}) }

// Ring size: the lightest endpoint gets ringVnodes virtual nodes and the
// others proportionally more; when that would exceed maxRingSize entries
// every count is scaled down (at least 1 each). 160 is libketama's count:
// the share of an endpoint then has a relative standard deviation of about
// 1/sqrt(160) ≈ 8%. The counts depend only on each endpoint's weight
// relative to the lightest, so adding or removing an endpoint of ordinary
// weight leaves every other endpoint's virtual nodes where they were (while
// the ring is below maxRingSize).
const (
	ringVnodes  = 160
	maxRingSize = 1 << 20
)

// ringHash is consistent hashing on a ring of virtual nodes. Virtual node j
// of an endpoint sits at xxh64(address ‖ uint32le(j), seedRing); a key goes
// to the first virtual node at or after xxh64(key, seedKey), wrapping
// around. Only addresses and weights enter the ring, never indexes or arrival
// order, so every process maps a key to the same address.
//
// A request without a key (nil or empty) walks the ring in order with a
// counter: deterministic, spread, and in proportion to virtual nodes.
type ringHash struct{}

func (ringHash) Name() string { return RingHashName }

func (ringHash) Build(eps []Endpoint, _ Options) (Picker, error) {
	idx, err := candidates(RingHashName, eps)
	if err != nil {
		return nil, err
	}
	if len(idx) > maxRingSize {
		return nil, fmt.Errorf("%w: %s: %d endpoints exceed the ring size %d", ErrInvalidInput, RingHashName, len(idx), maxRingSize)
	}
	ranked, err := byAddress(RingHashName, eps, idx)
	if err != nil {
		return nil, err
	}
	return newRingPicker(eps, ranked, pickerSeed()), nil
}

type ringPicker struct {
	hashes []uint64 // sorted
	owners []int32  // owners[k] is the endpoint index of hashes[k]
	// bucket[b] is the first position whose hash has top bits >= b, so a
	// lookup searches a handful of entries instead of the whole ring.
	bucket []uint32
	shift  uint

	_    cacheLinePad
	next atomic.Uint64 // keyless requests
	_    cacheLinePad
}

// vnodeCounts gives each endpoint of ranked its virtual node count.
func vnodeCounts(eps []Endpoint, ranked []int32, base, limit uint64) []uint64 {
	minW := uint64(eps[ranked[0]].Weight)
	for _, i := range ranked {
		minW = min(minW, uint64(eps[i].Weight))
	}
	counts := make([]uint64, len(ranked))
	var total uint64
	for r, i := range ranked {
		// < 2^40 each, and Build allows at most 2^20 endpoints: no overflow.
		counts[r] = base * uint64(eps[i].Weight) / minW
		total += counts[r]
	}
	if total > limit {
		for r := range counts {
			hi, lo := bits.Mul64(counts[r], limit)
			q, _ := bits.Div64(hi, lo, total) // q <= limit: no overflow
			counts[r] = max(q, 1)
		}
	}
	return counts
}

func newRingPicker(eps []Endpoint, ranked []int32, start uint64) *ringPicker {
	counts := vnodeCounts(eps, ranked, ringVnodes, maxRingSize)
	var size uint64
	for _, c := range counts {
		size += c
	}
	ring := make([]vnode, 0, size)
	var buf []byte
	for r, i := range ranked {
		buf = append(buf[:0], eps[i].Address...)
		n := len(buf)
		for j := range counts[r] {
			buf = binary.LittleEndian.AppendUint32(buf[:n], uint32(j))
			ring = append(ring, vnode{xxh64(buf, seedRing), int32(r)})
		}
	}
	// ring is in rank order and the sort is stable: ties (equal 64-bit
	// hashes) go to the lower address.
	ring = sortVnodes(ring)
	p := &ringPicker{
		hashes: make([]uint64, len(ring)),
		owners: make([]int32, len(ring)),
	}
	for k, v := range ring {
		p.hashes[k] = v.hash
		p.owners[k] = ranked[v.rank]
	}
	b := max(bits.Len(uint(len(ring)))-2, 1)
	p.shift = uint(64 - b)
	p.bucket = make([]uint32, 1<<b+1)
	k := 0
	for top := range p.bucket {
		for k < len(p.hashes) && p.hashes[k]>>p.shift < uint64(top) {
			k++
		}
		p.bucket[top] = uint32(k)
	}
	p.next.Store(start)
	return p
}

func (p *ringPicker) Pick(key []byte) int {
	if len(key) == 0 {
		return int(p.owners[p.next.Add(1)%uint64(len(p.owners))])
	}
	h := xxh64(key, seedKey)
	top := h >> p.shift
	// First position in the bucket with hash >= h; past the bucket's end is
	// the next bucket's first entry, past the ring's end wraps to 0.
	i, j := int(p.bucket[top]), int(p.bucket[top+1])
	for i < j {
		m := int(uint(i+j) >> 1)
		if p.hashes[m] >= h {
			j = m
		} else {
			i = m + 1
		}
	}
	if i == len(p.hashes) {
		i = 0
	}
	return int(p.owners[i])
}

type vnode struct {
	hash uint64
	rank int32
}

// sortVnodes sorts by hash, stably: an LSD radix sort, 6 passes of 11 bits,
// several times faster than a comparison sort on the million virtual nodes
// of a large ring. It returns the sorted slice, which is a or its scratch.
func sortVnodes(a []vnode) []vnode {
	const digit = 11
	tmp := make([]vnode, len(a))
	for shift := uint(0); shift < 64; shift += digit {
		var count [1<<digit + 1]int
		for _, v := range a {
			count[v.hash>>shift&(1<<digit-1)+1]++
		}
		if count[a[0].hash>>shift&(1<<digit-1)+1] == len(a) {
			continue // one value of this digit: the pass would change nothing
		}
		for d := 1; d < len(count); d++ {
			count[d] += count[d-1]
		}
		for _, v := range a {
			d := v.hash >> shift & (1<<digit - 1)
			tmp[count[d]] = v
			count[d]++
		}
		a, tmp = tmp, a
	}
	return a
}
