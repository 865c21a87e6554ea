package shardmap

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/config"
)

// ScannerPrefix holds one leased key per live scanner: ScannerKey(id) ->
// scanner.Info (api/scanner). Like a pilot's, the key goes when the
// scanner stops (revokes its lease) or dies (its lease runs out); its
// share of the instances moves then.
const ScannerPrefix = "/octomesh/v1/scanners/"

// ScannerKey is scanner id's membership key.
func ScannerKey(id string) string { return ScannerPrefix + id }

// DecodeScanner reads a stored scanner.Info and checks it.
func DecodeScanner(b []byte) (scanner.Info, error) {
	var s scanner.Info
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("shardmap: scanner record: %v", err)
	}
	if err := config.CheckName(s.ID); err != nil {
		return s, fmt.Errorf("shardmap: scanner record: id: %v", err)
	}
	if s.HTTP == "" {
		return s, fmt.Errorf("shardmap: scanner record %s: no http address", s.ID)
	}
	return s, nil
}

// Ring is plain consistent hashing, without a load bound, for work whose
// owner must follow from the members and the key alone: the scanners of a
// zone and the instances they check, where anyone (a pilot asking for a
// check) finds a key's owner without knowing every other key. Every
// member has VirtualNodes points, hashed as in Assign. Immutable.
type Ring struct {
	ids    []string
	points []point
}

// NewRing builds the ring of members (ids; order does not matter).
func NewRing(members []string) *Ring {
	ids := append([]string(nil), members...)
	sort.Strings(ids)
	r := &Ring{ids: ids, points: make([]point, 0, len(ids)*VirtualNodes)}
	for i, id := range ids {
		for v := range VirtualNodes {
			r.points = append(r.points, point{hash64(id + "#" + strconv.Itoa(v)), i})
		}
	}
	sort.Slice(r.points, func(a, b int) bool {
		if r.points[a].h != r.points[b].h {
			return r.points[a].h < r.points[b].h
		}
		return r.points[a].pilot < r.points[b].pilot
	})
	return r
}

// Len is the number of members.
func (r *Ring) Len() int { return len(r.ids) }

// Owner is the member that owns key: the first clockwise from its hash;
// "" on an empty ring.
func (r *Ring) Owner(key string) string {
	if s := r.Successors(key, 1); len(s) > 0 {
		return s[0]
	}
	return ""
}

// Successors lists up to n distinct members in ring order from key's hash:
// the owner first, then who takes key over if the owner leaves, and so on.
// When a member leaves, each of its keys goes to its next successor; when
// it returns, they come back: no other key moves.
func (r *Ring) Successors(key string, n int) []string {
	n = min(n, len(r.ids))
	if n == 0 {
		return nil
	}
	h := hash64(key)
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i].h >= h })
	out := make([]string, 0, n)
	for k := 0; k < len(r.points) && len(out) < n; k++ {
		id := r.ids[r.points[(i+k)%len(r.points)].pilot]
		dup := false
		for _, o := range out {
			dup = dup || o == id
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}
