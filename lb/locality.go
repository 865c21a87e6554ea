package lb

import (
	"fmt"
	"math"
)

// Locality wraps inner so that it picks among local endpoints first: those of
// Options.LocalSet (when set), else those of Options.LocalZone (when set),
// else all endpoints. A group is used only while its healthy share — Healthy
// endpoints with weight > 0 over all endpoints of the group — is at least
// Options.PanicThreshold, and it has at least one such endpoint (so a
// threshold of 0 never prefers a local group that is entirely down to a
// healthy remote one). The choice is made once, in Build: pickers are
// immutable, and health changes arrive as a new Build.
//
// Indexes returned by the picker refer to the slice given to Build. With a
// hashing inner balancer, a key maps consistently among processes that chose
// the same group; sidecars in different zones may of course differ.
func Locality(inner Balancer) Balancer { return locality{inner: inner} }

type locality struct{ inner Balancer }

func (l locality) Name() string { return "locality+" + l.inner.Name() }

func (l locality) Build(eps []Endpoint, opts Options) (Picker, error) {
	if math.IsNaN(opts.PanicThreshold) || opts.PanicThreshold < 0 || opts.PanicThreshold > 1 {
		return nil, fmt.Errorf("%w: %s: PanicThreshold %v outside [0, 1]", ErrInvalidInput, l.Name(), opts.PanicThreshold)
	}
	groups := [...]struct {
		use   bool
		match func(*Endpoint) bool
	}{
		{opts.LocalSet != "", func(e *Endpoint) bool { return e.Set == opts.LocalSet }},
		{opts.LocalZone != "", func(e *Endpoint) bool { return e.Zone == opts.LocalZone }},
	}
	for _, g := range groups {
		if !g.use {
			continue
		}
		var members []int32
		healthy := 0
		for i := range eps {
			if g.match(&eps[i]) {
				members = append(members, int32(i))
				if eps[i].Healthy && eps[i].Weight > 0 {
					healthy++
				}
			}
		}
		if healthy == 0 || float64(healthy)/float64(len(members)) < opts.PanicThreshold {
			continue
		}
		sub := make([]Endpoint, len(members))
		for k, i := range members {
			sub[k] = eps[i]
		}
		p, err := l.inner.Build(sub, opts)
		if err != nil {
			return nil, err
		}
		return subsetPicker{inner: p, idx: members}, nil
	}
	return l.inner.Build(eps, opts)
}

// subsetPicker maps the indexes of a picker built on a subset back to the
// caller's slice.
type subsetPicker struct {
	inner Picker
	idx   []int32
}

func (p subsetPicker) Pick(key []byte) int {
	k := p.inner.Pick(key)
	if k < 0 {
		return -1
	}
	return int(p.idx[k])
}
