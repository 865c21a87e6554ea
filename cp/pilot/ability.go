package pilot

import "sync"

// abilityMgr is the Snapshot's index: for each resource (kind, name), the
// sessions subscribed to it. A change is pushed to exactly those sessions.
// The first subscriber of a resource opens its Data Cache watch and the
// last one to leave closes it.
type abilityMgr struct {
	dc *dataCache

	mu    sync.RWMutex
	index [numKinds]map[string]map[*Session]struct{}
}

func newAbilityMgr(dc *dataCache) *abilityMgr {
	a := &abilityMgr{dc: dc}
	for k := range a.index {
		a.index[k] = map[string]map[*Session]struct{}{}
	}
	return a
}

// update makes s subscribed to exactly names for kind k; the session's own
// record of it (s.subs[k]) is kept in step. It takes s.mu itself.
func (a *abilityMgr) update(s *Session, k kind, names map[string]struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	cur := s.subs[k]
	for name := range cur {
		if _, ok := names[name]; !ok {
			a.removeLocked(s, k, name)
			delete(cur, name)
		}
	}
	for name := range names {
		if _, ok := cur[name]; ok {
			continue
		}
		if cur == nil {
			cur = map[string]struct{}{}
			s.subs[k] = cur
		}
		cur[name] = struct{}{}
		set := a.index[k][name]
		if set == nil {
			set = map[*Session]struct{}{}
			a.index[k][name] = set
			a.dc.acquire(k, name)
		}
		set[s] = struct{}{}
	}
}

// change subscribes s to add and unsubscribes it from remove for kind k
// (a delta request's lists; "*", the wildcard, names no resource here).
// Nothing changes for a session already closed (its stream's reader may
// outlive the handler by a request).
func (a *abilityMgr) change(s *Session, k kind, add, remove []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	cur := s.subs[k]
	for _, name := range add {
		if _, ok := cur[name]; ok || name == "*" {
			continue
		}
		if cur == nil {
			cur = map[string]struct{}{}
			s.subs[k] = cur
		}
		cur[name] = struct{}{}
		set := a.index[k][name]
		if set == nil {
			set = map[*Session]struct{}{}
			a.index[k][name] = set
			a.dc.acquire(k, name)
		}
		set[s] = struct{}{}
	}
	for _, name := range remove {
		if _, ok := cur[name]; ok {
			a.removeLocked(s, k, name)
			delete(cur, name)
		}
	}
}

// forget removes every subscription of a closed session.
func (a *abilityMgr) forget(s *Session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone = true
	for k := range s.subs {
		for name := range s.subs[k] {
			a.removeLocked(s, kind(k), name)
		}
		s.subs[k] = nil
	}
}

func (a *abilityMgr) removeLocked(s *Session, k kind, name string) {
	set := a.index[k][name]
	if set == nil {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(a.index[k], name)
		a.dc.release(k, name)
	}
}

// each calls fn for every session subscribed to (k, name), under the
// index's read lock: fn must not subscribe or unsubscribe.
func (a *abilityMgr) each(k kind, name string, fn func(*Session)) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for s := range a.index[k][name] {
		fn(s)
	}
}

// count is the number of sessions subscribed to (k, name).
func (a *abilityMgr) count(k kind, name string) int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.index[k][name])
}
