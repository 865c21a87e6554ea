package scanner

import (
	"hash/fnv"
	"sort"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/api/scanner"
	"github.com/octomesh/octomesh/cp/shardmap"
	"github.com/octomesh/octomesh/cp/store"
)

// slices is how many groups a period's checks are spread over: every
// period/slices the scanner starts the checks of one group, so that its
// checks are spread evenly over the period rather than sent at once.
const slices = 20

// target is one sidecar address the scanner knows of, and its check state.
// Fields are guarded by Scanner.mu, except conn, which only the check
// running on it (checking set) touches.
type target struct {
	addr     string
	zone     string
	services map[string]struct{} // the services registered at addr
	conn     *probeConn

	checking   bool // a check is running
	confirming bool // a double check is running
	writing    bool // marks are being written or cleared
	fails, oks int  // checks in a row
	lastErr    string
	gone       bool // left the registry; its conn closes after the check
}

// inventory is what a scanner knows: the registry's instances (as targets
// by address), the marks, the scanners of its zone, and which targets it
// owns. Guarded by Scanner.mu.
type inventory struct {
	self, zone string
	instances  map[string]registry.Instance // by instance key
	targets    map[string]*target           // by address
	marks      map[string]map[string]registry.HealthMark
	scanners   map[string]scanner.Info // of every zone
	ring       *shardmap.Ring          // this zone's scanners
	// owned groups this scanner's targets by slice; rebuilt when dirty.
	owned [slices][]*target
	count int
	dirty bool
}

func (v *inventory) init(self, zone string) {
	v.self, v.zone = self, zone
	v.instances = map[string]registry.Instance{}
	v.targets = map[string]*target{}
	v.marks = map[string]map[string]registry.HealthMark{}
	v.scanners = map[string]scanner.Info{}
	v.ring = shardmap.NewRing(nil)
}

func (v *inventory) setScanners(infos map[string]scanner.Info) {
	v.scanners = infos
	var ids []string
	for id, info := range infos {
		if info.Zone == v.zone {
			ids = append(ids, id)
		}
	}
	v.ring = shardmap.NewRing(ids)
	v.dirty = true
}

func (v *inventory) applyInstances(changes []store.InstanceChange, reset bool) {
	if reset {
		for key := range v.instances {
			v.removeInstance(key)
		}
	}
	for _, c := range changes {
		v.removeInstance(c.Key)
		if c.Instance != nil {
			v.addInstance(c.Key, *c.Instance)
		}
	}
	v.dirty = true
}

// addInstance records an instance and adds its service to its address's
// target (made if new: the address's first instance).
func (v *inventory) addInstance(key string, in registry.Instance) {
	v.instances[key] = in
	t := v.targets[in.Address]
	if t == nil {
		t = &target{addr: in.Address, services: map[string]struct{}{}}
		v.targets[in.Address] = t
	}
	t.services[in.Service] = struct{}{}
	t.zone = in.Zone
}

// removeInstance forgets an instance; its address's target goes with its
// last instance (its connection closes, now or after the running check).
func (v *inventory) removeInstance(key string) {
	in, ok := v.instances[key]
	if !ok {
		return
	}
	delete(v.instances, key)
	t := v.targets[in.Address]
	if t == nil {
		return
	}
	delete(t.services, in.Service)
	if len(t.services) > 0 {
		return
	}
	t.gone = true
	if !t.checking {
		t.conn.close()
	}
	delete(v.targets, in.Address)
}

func (v *inventory) setMarks(marks map[string]registry.HealthMark) {
	byAddr := map[string]map[string]registry.HealthMark{}
	for _, m := range marks {
		if byAddr[m.Address] == nil {
			byAddr[m.Address] = map[string]registry.HealthMark{}
		}
		byAddr[m.Address][m.Service] = m
	}
	v.marks = byAddr
	v.dirty = true
}

// down says whether addr is marked down: any of its services has a mark.
func (v *inventory) down(addr string) bool { return len(v.marks[addr]) > 0 }

// owns says whether this scanner checks addr (in zone).
func (v *inventory) owns(addr, zone string) bool {
	return zone == v.zone && v.ring.Owner(addr) == v.self
}

// rebuild regroups the owned targets by slice; it returns the marks this
// scanner owns whose instance left the registry (to delete).
func (v *inventory) rebuild() (orphans []registry.HealthMark) {
	if !v.dirty {
		return nil
	}
	v.dirty = false
	for i := range v.owned {
		v.owned[i] = v.owned[i][:0]
	}
	v.count = 0
	for addr, t := range v.targets {
		if v.owns(addr, t.zone) {
			i := sliceOf(addr)
			v.owned[i] = append(v.owned[i], t)
			v.count++
		} else if t.conn != nil && !t.checking {
			t.conn.close() // moved to another scanner
			t.fails, t.oks = 0, 0
		}
	}
	for addr, byService := range v.marks {
		t := v.targets[addr]
		for service, m := range byService {
			if t != nil {
				if _, ok := t.services[service]; ok {
					continue
				}
			}
			// The instance left: the mark's zone is unknown, so the owner
			// of the address in this zone deletes it; scanners of other
			// zones leave it to their own.
			if v.ring.Owner(addr) == v.self {
				orphans = append(orphans, m)
			}
		}
	}
	return orphans
}

// confirmers lists the scanners to ask for a second opinion on addr: its
// next successors on this zone's ring.
func (v *inventory) confirmers(addr string) []scanner.Info {
	var out []scanner.Info
	for _, id := range v.ring.Successors(addr, 3) {
		if id != v.self {
			out = append(out, v.scanners[id])
		}
	}
	return out
}

// serviceList lists the services registered at t's address, sorted.
func (t *target) serviceList() []string {
	out := make([]string, 0, len(t.services))
	for s := range t.services {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (v *inventory) closeAll() {
	for _, t := range v.targets {
		if !t.checking {
			t.conn.close()
		}
		t.gone = true
	}
}

func sliceOf(addr string) int {
	h := fnv.New32a()
	h.Write([]byte(addr))
	return int(h.Sum32() % slices)
}
