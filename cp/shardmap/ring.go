package shardmap

import (
	"hash/fnv"
	"math"
	"sort"
	"strconv"
)

// LoadFactor is the c of consistent hashing with bounded load: no pilot
// owns more than ceil(LoadFactor * apps / pilots) apps. It is a constant,
// not a flag, because Meta and every pilot must compute the same
// assignment.
const LoadFactor = 1.25

// VirtualNodes is the number of points each pilot has on the ring. More
// points spread a leaving pilot's apps over more successors.
const VirtualNodes = 64

// hash64 is FNV-1a with a splitmix64 finaliser: stable across processes
// and versions, and well spread even for names that differ in one byte.
func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

type point struct {
	h     uint64
	pilot int
}

// Capacity is the most apps one pilot may own with apps apps on pilots
// pilots.
func Capacity(apps, pilots int) int {
	if pilots == 0 {
		return 0
	}
	return max(1, int(math.Ceil(LoadFactor*float64(apps)/float64(pilots))))
}

// Assign maps every app to one of pilots (ids): each app goes to the first
// pilot clockwise from the app's hash on a ring of VirtualNodes points per
// pilot that has fewer than Capacity apps, apps taken in the order of
// their hashes. The result depends only on the two sets, not on their
// order. With no pilots it is empty.
//
// When a pilot leaves, its apps go to the pilots after its points on the
// ring (their successors); when it returns, the same sets give the same
// assignment, so they come back. An app of another pilot moves only when
// the capacity bound makes it (rare with LoadFactor 1.25; the move count
// is reported by Diff).
func Assign(pilots, apps []string) map[string]string {
	out := make(map[string]string, len(apps))
	if len(pilots) == 0 {
		return out
	}
	ids := append([]string(nil), pilots...)
	sort.Strings(ids)
	ring := make([]point, 0, len(ids)*VirtualNodes)
	for i, id := range ids {
		for v := range VirtualNodes {
			ring = append(ring, point{hash64(id + "#" + strconv.Itoa(v)), i})
		}
	}
	sort.Slice(ring, func(a, b int) bool {
		if ring[a].h != ring[b].h {
			return ring[a].h < ring[b].h
		}
		return ring[a].pilot < ring[b].pilot
	})
	type app struct {
		name string
		h    uint64
	}
	order := make([]app, 0, len(apps))
	for _, a := range apps {
		order = append(order, app{a, hash64(a)})
	}
	sort.Slice(order, func(a, b int) bool {
		if order[a].h != order[b].h {
			return order[a].h < order[b].h
		}
		return order[a].name < order[b].name
	})
	limit := Capacity(len(order), len(ids))
	load := make([]int, len(ids))
	for _, a := range order {
		i := sort.Search(len(ring), func(i int) bool { return ring[i].h >= a.h })
		for n := 0; n < len(ring); n++ {
			p := ring[(i+n)%len(ring)].pilot
			if load[p] < limit {
				load[p]++
				out[a.name] = ids[p]
				break
			}
		}
	}
	return out
}

// Diff counts the apps whose owner differs between two assignments (apps
// in only one of them are not counted).
func Diff(a, b map[string]string) int {
	n := 0
	for app, p := range a {
		if q, ok := b[app]; ok && q != p {
			n++
		}
	}
	return n
}
