package lb

import (
	"encoding/binary"
	"math/bits"
)

// xxh64 is XXH64 (xxhash, 64-bit). It is written here rather than imported
// so that lb stays dependency-free; the consistent-hashing balancers depend on
// it never changing, since every sidecar must map a key to the same endpoint.
func xxh64(b []byte, seed uint64) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		v1, v2, v3, v4 := seed+xxhP1+xxhP2, seed+xxhP2, seed, seed-xxhP1
		for ; len(b) >= 32; b = b[32:] {
			v1 = xxhRound(v1, binary.LittleEndian.Uint64(b[0:8]))
			v2 = xxhRound(v2, binary.LittleEndian.Uint64(b[8:16]))
			v3 = xxhRound(v3, binary.LittleEndian.Uint64(b[16:24]))
			v4 = xxhRound(v4, binary.LittleEndian.Uint64(b[24:32]))
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) +
			bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		for _, v := range [4]uint64{v1, v2, v3, v4} {
			h = (h^xxhRound(0, v))*xxhP1 + xxhP4
		}
	} else {
		h = seed + xxhP5
	}
	h += uint64(n)
	for ; len(b) >= 8; b = b[8:] {
		h ^= xxhRound(0, binary.LittleEndian.Uint64(b[:8]))
		h = bits.RotateLeft64(h, 27)*xxhP1 + xxhP4
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b[:4])) * xxhP1
		h = bits.RotateLeft64(h, 23)*xxhP2 + xxhP3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * xxhP5
		h = bits.RotateLeft64(h, 11) * xxhP1
	}
	h ^= h >> 33
	h *= xxhP2
	h ^= h >> 29
	h *= xxhP3
	h ^= h >> 32
	return h
}

const (
	xxhP1 uint64 = 11400714785074694791
	xxhP2 uint64 = 14029467366897019727
	xxhP3 uint64 = 1609587929392839161
	xxhP4 uint64 = 9650029242287828579
	xxhP5 uint64 = 2870177450012600261
)

func xxhRound(acc, in uint64) uint64 {
	return bits.RotateLeft64(acc+in*xxhP2, 31) * xxhP1
}

// Fixed seeds: changing any of them remaps every key in every deployment.
const (
	seedKey        uint64 = 0x6f63746f6d657368 // request keys, shared by ring_hash and maglev
	seedRing       uint64 = 0x72696e675f686173 // ring_hash virtual nodes
	seedMaglevOff  uint64 = 0x6d61676c65766f66 // maglev permutation offset
	seedMaglevSkip uint64 = 0x6d61676c6576736b // maglev permutation skip
)

// splitmix64 is the finalizer of SplitMix64: a bijective mixer that turns a
// counter into well-spread pseudo-random bits.
func splitmix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// goldenGamma is 2^64/φ, the SplitMix64 increment; goldenGamma2 is twice it,
// modulo 2^64, to take two steps at once.
const (
	goldenGamma  uint64 = 0x9e3779b97f4a7c15
	goldenGamma2 uint64 = 0x3c6ef372fe94f82a
)
