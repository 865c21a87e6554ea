package shardmap

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/api/meta"
)

// Assignment is one immutable state of the shard map: the live pilots, the
// apps, and the owner of each app. Never modify one.
type Assignment struct {
	Pilots map[string]meta.PilotInfo
	Apps   map[string]AppInfo
	// Owner maps every app to a pilot id; empty without pilots.
	Owner map[string]string
	// Version counts the assignments a View computed (not comparable
	// between processes).
	Version uint64
}

// OwnerOf returns the pilot that serves app.
func (a *Assignment) OwnerOf(app string) (meta.PilotInfo, bool) {
	id, ok := a.Owner[app]
	if !ok {
		return meta.PilotInfo{}, false
	}
	p, ok := a.Pilots[id]
	return p, ok
}

// Owned lists the apps pilot id owns, sorted.
func (a *Assignment) Owned(id string) []string {
	var out []string
	for app, p := range a.Owner {
		if p == id {
			out = append(out, app)
		}
	}
	sort.Strings(out)
	return out
}

// Loads counts the apps of every live pilot.
func (a *Assignment) Loads() map[string]int {
	m := make(map[string]int, len(a.Pilots))
	for id := range a.Pilots {
		m[id] = 0
	}
	for _, p := range a.Owner {
		m[p]++
	}
	return m
}

// RemovalGrace is how long a pilot whose key vanished (its lease ran out)
// still counts: a pilot that missed a renewal, on a busy machine, and
// writes its key again within it keeps its apps, and its sidecars stay.
// A draining pilot says so in its record first and goes at once. Views
// may disagree for a moment around the end of the grace (their watches do
// not deliver at the same instant); redirects and the pilot's wait for its
// view (2s) bridge that.
const RemovalGrace = 3 * time.Second

// Store is where a View reads the pilots and apps: cp/store, or a fake
// (shardmaptest).
type Store interface {
	// WatchPrefix calls update with the whole state under prefix now and
	// after every change, until ctx ends; it blocks.
	WatchPrefix(ctx context.Context, prefix string, update func(state map[string][]byte, rev int64))
}

// ViewStats counts what a View saw.
type ViewStats struct {
	// Assignments counts assignments computed; Moves the apps that changed
	// owner between consecutive ones.
	Assignments, Moves atomic.Uint64
	// BadRecords counts records that did not decode and were skipped.
	BadRecords atomic.Uint64
}

// View keeps the current Assignment from the store: one watch on the
// pilots, one on the apps.
type View struct {
	Stats ViewStats
	log   *slog.Logger
	cur   atomic.Pointer[Assignment]

	mu sync.Mutex
	// raw is the pilots in etcd; pilots, the ones the assignment counts:
	// raw without the draining ones, plus those whose key went less than
	// RemovalGrace ago (leaving).
	raw       map[string]meta.PilotInfo
	leaving   map[string]*time.Timer
	pilots    map[string]meta.PilotInfo
	apps      map[string]AppInfo
	loaded    [2]bool
	ready     chan struct{}
	changed   chan struct{} // closed (and replaced) on every new assignment
	listeners []func(prev, next *Assignment)
}

// NewView starts watching store; ctx bounds the watches.
func NewView(ctx context.Context, store Store, log *slog.Logger) *View {
	v := &View{log: log, raw: map[string]meta.PilotInfo{}, leaving: map[string]*time.Timer{}, pilots: map[string]meta.PilotInfo{}, apps: map[string]AppInfo{},
		ready: make(chan struct{}), changed: make(chan struct{})}
	v.cur.Store(&Assignment{Pilots: map[string]meta.PilotInfo{}, Apps: map[string]AppInfo{}, Owner: map[string]string{}})
	go store.WatchPrefix(ctx, PilotPrefix, v.setPilots)
	go store.WatchPrefix(ctx, AppPrefix, v.setApps)
	return v
}

// Current is the latest assignment.
func (v *View) Current() *Assignment { return v.cur.Load() }

// Changed is closed when the assignment after the current one is made.
func (v *View) Changed() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

// Ready waits until both watches have delivered their first state.
func (v *View) Ready(ctx context.Context) error {
	select {
	case <-v.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OnChange calls fn(prev, next) after every new assignment, one call at a
// time, in order; fn must return quickly and not call OnChange. It is
// called once at once with the current assignment (prev nil) if the view is
// ready.
func (v *View) OnChange(fn func(prev, next *Assignment)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.listeners = append(v.listeners, fn)
	if v.loaded[0] && v.loaded[1] {
		fn(nil, v.cur.Load())
	}
}

// WaitApp waits until app has a record in the view, at most until ctx ends.
func (v *View) WaitApp(ctx context.Context, app string) bool {
	for {
		ch := v.Changed()
		if _, ok := v.Current().Apps[app]; ok {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func (v *View) setPilots(state map[string][]byte, _ int64) {
	pilots := make(map[string]meta.PilotInfo, len(state))
	for key, val := range state {
		id, ok := nameUnder(key, PilotPrefix)
		p, err := DecodePilot(val)
		if !ok || err != nil || p.ID != id {
			v.Stats.BadRecords.Add(1)
			v.log.Warn("shardmap: skipping a bad pilot record", "key", key, "err", err)
			continue
		}
		pilots[id] = p
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.raw = pilots
	counted := make(map[string]meta.PilotInfo, len(pilots))
	for id, p := range pilots {
		if t := v.leaving[id]; t != nil { // back within the grace: nothing moved
			t.Stop()
			delete(v.leaving, id)
		}
		if !p.Draining {
			counted[id] = p
		}
	}
	for id, p := range v.pilots {
		if _, ok := pilots[id]; ok || !v.loaded[0] {
			continue
		}
		// Its key is gone without a drain: its lease ran out. Keep
		// counting it for RemovalGrace, in case it only missed a renewal.
		if v.leaving[id] == nil {
			v.leaving[id] = time.AfterFunc(RemovalGrace, func() { v.expire(id) })
		}
		counted[id] = p
	}
	names := !sameKeys(v.pilots, counted)
	v.pilots = counted
	v.publishLocked(0, names)
}

// expire stops counting a pilot whose key has been gone for RemovalGrace.
func (v *View) expire(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.leaving[id] == nil {
		return // it came back
	}
	delete(v.leaving, id)
	if _, ok := v.pilots[id]; !ok {
		return
	}
	next := make(map[string]meta.PilotInfo, len(v.pilots))
	for k, p := range v.pilots {
		if k != id {
			next[k] = p
		}
	}
	v.pilots = next
	v.log.Info("shardmap: pilot gone", "pilot", id)
	v.publishLocked(0, true)
}

func (v *View) setApps(state map[string][]byte, _ int64) {
	apps := make(map[string]AppInfo, len(state))
	for key, val := range state {
		name, ok := strings.CutPrefix(key, AppPrefix)
		ok = ok && meta.CheckApp(name) == nil // as Meta and the pilots check it
		a, err := DecodeApp(val)
		if !ok || err != nil {
			v.Stats.BadRecords.Add(1)
			v.log.Warn("shardmap: skipping a bad app record", "key", key, "err", err)
			continue
		}
		apps[name] = a
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	names := !sameKeys(v.apps, apps)
	v.apps = apps
	v.publishLocked(1, names)
}

// publishLocked makes a new assignment: recomputed when the set of pilots
// or apps changed, else the same owners with the new records.
func (v *View) publishLocked(which int, names bool) {
	first := !(v.loaded[0] && v.loaded[1])
	v.loaded[which] = true
	if !(v.loaded[0] && v.loaded[1]) {
		return
	}
	prev := v.cur.Load()
	next := &Assignment{Pilots: v.pilots, Apps: v.apps, Owner: prev.Owner, Version: prev.Version + 1}
	if names || first {
		next.Owner = Assign(keys(v.pilots), keys(v.apps))
		moved := Diff(prev.Owner, next.Owner)
		v.Stats.Moves.Add(uint64(moved))
		if moved > 0 || len(prev.Pilots) != len(next.Pilots) {
			v.log.Info("shardmap: new assignment", "pilots", len(next.Pilots), "apps", len(next.Apps), "moved", moved)
		}
	}
	v.Stats.Assignments.Add(1)
	v.cur.Store(next)
	close(v.changed)
	v.changed = make(chan struct{})
	if first {
		close(v.ready)
		prev = nil
	}
	for _, fn := range v.listeners {
		fn(prev, next)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sameKeys[V any](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// Info describes an assignment.
func (a *Assignment) Info() meta.AssignmentInfo {
	out := meta.AssignmentInfo{Apps: a.Owner, Capacity: Capacity(len(a.Apps), len(a.Pilots))}
	loads := a.Loads()
	for id, p := range a.Pilots {
		out.Pilots = append(out.Pilots, meta.PilotLoad{PilotInfo: p, Apps: loads[id]})
	}
	sort.Slice(out.Pilots, func(i, j int) bool { return out.Pilots[i].ID < out.Pilots[j].ID })
	return out
}
