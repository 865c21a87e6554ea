package lb

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrInvalidInput is returned by Build for endpoints or options it cannot
// accept (duplicate addresses for a hashing balancer, a nil Load, a
// PanicThreshold outside [0, 1]); the error names the cause.
var ErrInvalidInput = errors.New("lb: invalid input")

// Registered balancer names.
const (
	RoundRobinName  = "round_robin"
	P2CPeakEWMAName = "p2c_peak_ewma"
	RingHashName    = "ring_hash"
	MaglevName      = "maglev"
)

// candidates returns the indices of the endpoints a picker may choose:
// weight > 0 and Healthy. When none is healthy it returns every endpoint with
// weight > 0 (panic mode): health checks that mark a whole cluster down are
// more often wrong than the cluster, and a request to a doubtful endpoint
// beats a certain failure.
func candidates(name string, eps []Endpoint) ([]int32, error) {
	if len(eps) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %s: %d endpoints", ErrInvalidInput, name, len(eps))
	}
	idx := make([]int32, 0, len(eps))
	for i := range eps {
		if eps[i].Weight > 0 && eps[i].Healthy {
			idx = append(idx, int32(i))
		}
	}
	if len(idx) > 0 {
		return idx, nil
	}
	for i := range eps {
		if eps[i].Weight > 0 {
			idx = append(idx, int32(i))
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("%w (%s, %d endpoints given)", ErrNoEndpoints, name, len(eps))
	}
	return idx, nil
}

// byAddress returns idx sorted by endpoint address, so that hashing balancers
// build the same structure whatever order endpoints arrive in. Two endpoints
// with one address would make that order ambiguous, hence the error.
func byAddress(name string, eps []Endpoint, idx []int32) ([]int32, error) {
	sorted := slices.Clone(idx)
	slices.SortFunc(sorted, func(a, b int32) int {
		if eps[a].Address < eps[b].Address {
			return -1
		}
		if eps[a].Address > eps[b].Address {
			return 1
		}
		return 0
	})
	for i := 1; i < len(sorted); i++ {
		if eps[sorted[i]].Address == eps[sorted[i-1]].Address {
			return nil, fmt.Errorf("%w: %s: duplicate endpoint address %q", ErrInvalidInput, name, eps[sorted[i]].Address)
		}
	}
	return sorted, nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pickerSeed seeds per-picker counters so that sidecars that rebuild their
// pickers at the same moment do not all start on the same endpoint. It is
// the runtime's per-thread generator: no lock, no allocation.
func pickerSeed() uint64 { return rand.Uint64() }

// cacheLinePad keeps a hot atomic counter off the cache line of the read-only
// fields next to it, so that writers do not slow down readers on other cores.
type cacheLinePad [64]byte
